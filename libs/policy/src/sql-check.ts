import { parseSync } from 'libpg-query';
import type { SafetyVerdict } from './safety.js';
import { Findings } from './verdict.js';

type Node = Record<string, unknown>;

/** Functions that read or write the server's files or reach other servers: never from a fix. */
const forbiddenFunctions = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'dblink',
  'dblink_exec',
  'pg_file_write',
  'pg_promote',
]);
const reviewFunctions = new Set(['pg_reload_conf', 'pg_rotate_logfile', 'set_config', 'pg_terminate_backend_all']);

/** Statement kinds a fix may run without a human, and those that need one. Everything else is denied. */
const allowedStatements = new Set(['SelectStmt', 'TransactionStmt', 'ExplainStmt', 'VariableShowStmt', 'VariableSetStmt']);
const reviewStatements = new Set([
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'VacuumStmt',
  'AnalyzeStmt',
  'IndexStmt',
  'ReindexStmt',
  'AlterTableStmt',
  'AlterSystemStmt',
  'ClusterStmt',
  'LockStmt',
  'RefreshMatViewStmt',
  'CheckPointStmt',
]);

/** Settings a fix may change for its own session. */
const allowedSettings = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'work_mem',
  'maintenance_work_mem',
  'application_name',
  'timezone',
]);
const allowedTransactions = new Set([
  'TRANS_STMT_BEGIN',
  'TRANS_STMT_START',
  'TRANS_STMT_COMMIT',
  'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_SAVEPOINT',
  'TRANS_STMT_RELEASE',
  'TRANS_STMT_ROLLBACK_TO',
]);

function visit(node: unknown, fn: (key: string, value: Node) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, fn);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Node)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && /^[A-Z]/.test(key)) fn(key, value as Node);
    visit(value, fn);
  }
}

const qualifiedName = (call: Node): string =>
  ((call.funcname as Array<{ String?: { sval?: string } }> | undefined) ?? [])
    .map((p) => p.String?.sval ?? '')
    .join('.')
    .toLowerCase();

const funcName = (call: Node): string =>
  ((call.funcname as Array<{ String?: { sval?: string } }> | undefined) ?? [])
    .map((p) => p.String?.sval ?? '')
    .filter(Boolean)
    .at(-1)
    ?.toLowerCase() ?? '';

/**
 * Reads SQL with PostgreSQL's own parser (libpg-query) and judges each statement: never DROP,
 * TRUNCATE, DELETE/UPDATE without WHERE, dynamic SQL, COPY … PROGRAM, privilege changes or file
 * access; data changes need a human; what does not parse is not allowed.
 */
export function checkSql(sql: string): SafetyVerdict {
  const findings = new Findings();
  let parsed: { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  try {
    parsed = parseSync(sql) as typeof parsed;
  } catch (error) {
    findings.deny('sql-unparseable', `the SQL does not parse, so it cannot be checked: ${(error as Error).message}`);
    return findings.verdict();
  }
  const statements = parsed.stmts ?? [];
  if (statements.length === 0) findings.deny('sql-empty', 'no SQL statement to check');
  for (const { stmt, stmt_location = 0, stmt_len } of statements) {
    const span: [number, number] = [stmt_location, stmt_len ? stmt_location + stmt_len : sql.length];
    const [kind, body] = Object.entries(stmt)[0] as [string, Node];
    switch (kind) {
      case 'DropStmt':
      case 'DropdbStmt':
      case 'DropRoleStmt':
      case 'DropTableSpaceStmt':
        findings.deny('sql-drop', 'DROP destroys what it names', span);
        break;
      case 'TruncateStmt':
        findings.deny('sql-truncate', 'TRUNCATE empties whole tables', span);
        break;
      case 'DeleteStmt':
      case 'UpdateStmt':
        if (!body.whereClause)
          findings.deny('sql-no-where', `${kind === 'DeleteStmt' ? 'DELETE' : 'UPDATE'} without WHERE changes every row`, span);
        break;
      case 'DoStmt':
      case 'ExecuteStmt':
      case 'PrepareStmt':
      case 'CreateFunctionStmt':
        findings.deny('sql-dynamic', 'dynamic or procedural SQL hides the statements it runs', span);
        break;
      case 'CopyStmt':
        if (body.is_program) findings.deny('sql-copy-program', 'COPY … PROGRAM runs a shell command on the database server', span);
        else findings.deny('sql-copy-file', 'COPY reads or writes files on the database server', span);
        break;
      case 'GrantStmt':
      case 'GrantRoleStmt':
      case 'CreateRoleStmt':
      case 'AlterRoleStmt':
      case 'AlterDefaultPrivilegesStmt':
        findings.deny('sql-privileges', 'changing roles or privileges is privilege escalation', span);
        break;
      case 'AlterSystemStmt':
        findings.deny('sql-alter-system', 'ALTER SYSTEM changes server configuration (archive commands, auth files)', span);
        break;
      case 'VariableSetStmt':
        if (!allowedSettings.has(String(body.name ?? '').toLowerCase()))
          findings.deny('sql-setting', `SET ${String(body.name ?? '')} is not a setting a fix may change`, span);
        break;
      case 'TransactionStmt':
        if (!allowedTransactions.has(String(body.kind)))
          findings.deny('sql-transaction', 'prepared transactions outlive the session that made them', span);
        break;
      case 'ExplainStmt':
        if (
          JSON.stringify(body.options ?? [])
            .toLowerCase()
            .includes('analyze')
        ) {
          findings.review('sql-explain-analyze', 'EXPLAIN ANALYZE runs the statement', span);
        }
        break;
      case 'AlterTableStmt': {
        findings.deny('sql-alter-table', 'ALTER TABLE changes schema, ownership or security', span);
        const commands = (body.cmds as Array<{ AlterTableCmd?: { subtype?: string } }> | undefined) ?? [];
        if (commands.some((c) => c.AlterTableCmd?.subtype === 'AT_DropColumn' || c.AlterTableCmd?.subtype === 'AT_DropConstraint')) {
          findings.deny('sql-drop', 'ALTER TABLE … DROP destroys data or constraints', span);
        }
        break;
      }
    }
    if (!allowedStatements.has(kind) && !reviewStatements.has(kind) && !findings.list.some((f) => f.span?.[0] === span[0])) {
      findings.deny('sql-unknown-statement', `${kind.replace(/Stmt$/, '')} is not a statement a fix may run`, span);
    } else if (reviewStatements.has(kind)) {
      findings.review('sql-changes-data', `${kind.replace(/Stmt$/, '')} changes data or schema: a human checks it`, span);
    }
    visit(stmt, (key, value) => {
      // Data changes nested in a CTE or under EXPLAIN ANALYZE run just the same.
      if ((key === 'DeleteStmt' || key === 'UpdateStmt') && value !== body) {
        if (!value.whereClause) findings.deny('sql-no-where', 'a nested DELETE/UPDATE without WHERE changes every row', span);
        else findings.review('sql-changes-data', 'a nested statement changes data', span);
      }
      if ((key === 'InsertStmt' || key === 'MergeStmt') && value !== body)
        findings.review('sql-changes-data', 'a nested statement changes data', span);
      if (
        (key === 'DeleteStmt' || key === 'UpdateStmt') &&
        value.whereClause &&
        !JSON.stringify(value.whereClause).includes('"ColumnRef"')
      ) {
        findings.deny('sql-no-where', 'a WHERE that looks at no column matches every row', span);
      }
      if (key === 'SelectStmt' && value.intoClause) findings.deny('sql-select-into', 'SELECT … INTO creates a table', span);
      if (
        key === 'A_Const' &&
        typeof (value.sval as { sval?: string } | undefined)?.sval === 'string' &&
        (value.sval as { sval: string }).sval.includes('\\')
      ) {
        findings.deny('sql-backslash', 'a backslash in a string literal can be read differently by a client', span);
      }
      if (key === 'FuncCall') {
        const called = funcName(value);
        if (
          /^(dblink|pg_file_|lo_|pg_drop_|pg_create_|pg_replication|pg_logical|pg_read|pg_ls|pg_stat_file|set_config|setval|pg_sleep|pg_switch_wal|pg_promote)/.test(
            called,
          ) ||
          /^cron\./.test(qualifiedName(value))
        ) {
          findings.deny('sql-forbidden-function', `${called}() reaches files, other servers, roles or replication`, span);
        }
        if (
          (called === 'pg_terminate_backend' || called === 'pg_cancel_backend') &&
          !((value.args as unknown[] | undefined) ?? []).every((a) => JSON.stringify(a).startsWith('{"A_Const"'))
        ) {
          findings.review('sql-terminate-many', `${called}() of pids chosen at run time can end many sessions`, span);
        }
      }
      if (key === 'FuncCall') {
        const name = funcName(value);
        if (forbiddenFunctions.has(name)) findings.deny('sql-forbidden-function', `${name}() reaches files or other servers`, span);
        else if (reviewFunctions.has(name)) findings.review('sql-config-function', `${name}() changes server behaviour`, span);
      }
      if (key === 'VariableSetStmt' && String(value.name ?? '').toLowerCase() === 'session_authorization') {
        findings.deny('sql-privileges', 'SET SESSION AUTHORIZATION changes who runs the SQL', span);
      }
      if (key === 'VariableSetStmt' && String(value.name ?? '').toLowerCase() === 'role') {
        findings.deny('sql-privileges', 'SET ROLE changes who runs the SQL', span);
      }
    });
  }
  return findings.verdict();
}
