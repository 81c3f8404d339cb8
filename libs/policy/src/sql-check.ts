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
      case 'AlterTableStmt': {
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
