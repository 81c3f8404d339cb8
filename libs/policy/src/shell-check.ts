import type { Node } from 'web-tree-sitter';
import { bashParser } from './parsers.js';
import type { SafetyVerdict } from './safety.js';
import { checkSql } from './sql-check.js';
import { Findings } from './verdict.js';

/** The value of a word if it is fixed text (quotes and escapes resolved); undefined if computed at run time. */
function literal(node: Node | null): string | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case 'word':
    case 'number':
      return node.text.replace(/\\(.)/g, '$1');
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'string': {
      const parts = node.namedChildren.filter((c): c is Node => c !== null);
      if (parts.some((c) => c.type !== 'string_content')) return undefined;
      return parts.map((c) => c.text).join('');
    }
    case 'concatenation': {
      const parts = node.namedChildren.map((c) => literal(c));
      return parts.every((p) => p !== undefined) ? parts.join('') : undefined;
    }
    default:
      return undefined; // expansions, substitutions, $'…' encodings: not knowable before running
  }
}

/** Commands that only run another command (their arguments): look through them. */
const wrappers = new Set([
  'sudo',
  'env',
  'nohup',
  'timeout',
  'nice',
  'exec',
  'command',
  'builtin',
  'time',
  'stdbuf',
  'ionice',
  'chroot',
  'doas',
]);
const interpreters = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'python',
  'python3',
  'perl',
  'ruby',
  'node',
  'php',
  'psql',
  'mysql',
  'redis-cli',
  'source',
  '.',
]);
const downloaders = new Set(['curl', 'wget', 'fetch', 'nc', 'ncat', 'socat']);
const readOnly = new Set([
  'echo',
  'printf',
  'cat',
  'ls',
  'head',
  'tail',
  'grep',
  'egrep',
  'fgrep',
  'wc',
  'sort',
  'uniq',
  'cut',
  'tr',
  'awk',
  'ps',
  'pgrep',
  'top',
  'free',
  'df',
  'du',
  'uptime',
  'date',
  'sleep',
  'true',
  'false',
  'test',
  '[',
  'ss',
  'netstat',
  'lsof',
  'ping',
  'curl',
  'wget',
  'dig',
  'nslookup',
  'host',
  'id',
  'whoami',
  'hostname',
  'uname',
  'pwd',
  'cd',
  'export',
  'jq',
  'journalctl',
  'stat',
  'file',
  'which',
  'vmstat',
  'iostat',
  'pg_isready',
]);
const databaseServices = /^(postgres|postgresql|mysql|mysqld|mariadb|redis|redis-server|mongod|etcd)(@.*)?(\.service)?$/;

interface Command {
  name: string | undefined;
  args: Array<string | undefined>;
  node: Node;
}

/** The command a `command` node runs, through wrappers like sudo and env. */
function resolve(node: Node): Command {
  const words: Array<string | undefined> = [];
  const nameNode = node.childForFieldName('name');
  words.push(literal(nameNode?.firstNamedChild ?? nameNode));
  for (const arg of node.childrenForFieldName('argument')) words.push(literal(arg));
  while (words.length > 0 && words[0] !== undefined && wrappers.has(words[0])) {
    const wrapper = words.shift();
    // Skip the wrapper's own options and settings (sudo -u x, env A=b, timeout 30, nice -n 5).
    while (
      words.length > 0 &&
      (words[0]?.startsWith('-') ||
        /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? '') ||
        (wrapper === 'timeout' && /^\d/.test(words[0] ?? '')))
    ) {
      const option = words.shift();
      if ((wrapper === 'sudo' && ['-u', '-g', '-C'].includes(option ?? '')) || (wrapper === 'nice' && option === '-n')) words.shift();
    }
  }
  return { name: words[0], args: words.slice(1), node };
}

const span = (node: Node): [number, number] => [node.startIndex, node.endIndex];
const hasFlag = (args: Array<string | undefined>, short: string, long?: string): boolean =>
  args.some((a) => a !== undefined && ((/^-[a-zA-Z]+$/.test(a) && a.includes(short)) || (long !== undefined && a === long)));

/** `/`, `/etc`, `~`, `.`, `*`, `$HOME`: a path whose recursive removal is never a fix. */
function isBroadPath(path: string): boolean {
  const p = path.replace(/\/+$/, '').replace(/\/\*$/, '') || '/';
  if (['/', '.', '..', '*', '~', '.*'].includes(p) || p.startsWith('~')) return true;
  return /^\/[^/]*$/.test(p); // one level below the root: /etc, /var, /home, /usr …
}

function checkCommand(cmd: Command, findings: Findings): void {
  const { name, args, node } = cmd;
  const at = span(node);
  if (name === undefined) return findings.deny('shell-computed-command', 'the command to run is computed at run time', at);
  const base = name.split('/').at(-1) ?? name;
  const lower = args.map((a) => a?.toLowerCase());
  if (/^(mkfs|mke2fs|mkfs\..+)$/.test(base)) return findings.deny('shell-wipe-filesystem', `${base} formats a filesystem`, at);
  switch (base) {
    case 'eval':
      return findings.deny('shell-eval', 'eval runs text as a command', at);
    case 'source':
    case '.':
      return findings.review('shell-source', 'sources another script, which is not checked here', at);
    case 'sh':
    case 'bash':
    case 'zsh':
    case 'dash':
    case 'ksh': {
      const c = args.indexOf('-c');
      if (c < 0) return findings.review('shell-subshell', `${base} runs a script that is not checked here`, at);
      const inner = args[c + 1];
      if (inner === undefined) return findings.deny('shell-computed-command', `${base} -c runs a command computed at run time`, at);
      return checkScript(inner, findings, at);
    }
    case 'python':
    case 'python3':
    case 'perl':
    case 'ruby':
    case 'node':
    case 'php':
      return findings.deny('shell-inline-program', `${base} runs a program that cannot be checked`, at);
    case 'rm': {
      const recursive = hasFlag(args, 'r', '--recursive') || hasFlag(args, 'R');
      const targets = args.filter((a) => a === undefined || !a.startsWith('-'));
      if (recursive && targets.some((t) => t === undefined))
        return findings.deny('shell-rm-computed', 'rm -r of a path computed at run time', at);
      if (recursive && targets.some((t) => t !== undefined && isBroadPath(t)))
        return findings.deny('shell-rm-broad', 'rm -r of a broad path', at);
      return findings.review('shell-rm', 'removes files', at);
    }
    case 'dd':
      if (args.some((a) => a === undefined || /^of=\/dev\//.test(a)))
        return findings.deny('shell-wipe-device', 'dd writes to a device', at);
      return findings.review('shell-dd', 'dd copies raw data', at);
    case 'shred':
    case 'wipefs':
    case 'fdisk':
    case 'sfdisk':
    case 'parted':
    case 'mkswap':
    case 'shutdown':
    case 'reboot':
    case 'halt':
    case 'poweroff':
      return findings.deny('shell-destructive', `${base} destroys data or takes the host down`, at);
    case 'chmod':
    case 'chown':
      if (hasFlag(args, 'R', '--recursive') && args.some((a) => a === undefined || (!a.startsWith('-') && isBroadPath(a)))) {
        return findings.deny('shell-permissions-broad', `${base} -R over a broad path`, at);
      }
      return findings.review('shell-permissions', `${base} changes permissions`, at);
    case 'iptables':
    case 'ip6tables':
      if (
        args.some((a) => a === undefined || ['-F', '--flush', '-X', '--delete-chain'].includes(a)) ||
        (args.includes('-P') && lower.includes('accept'))
      ) {
        return findings.deny('shell-firewall-flush', 'flushes or opens the firewall', at);
      }
      return findings.review('shell-firewall', 'changes firewall rules', at);
    case 'nft':
      if (lower.includes('flush')) return findings.deny('shell-firewall-flush', 'flushes the firewall rules', at);
      return findings.review('shell-firewall', 'changes firewall rules', at);
    case 'ufw':
      if (lower.includes('disable')) return findings.deny('shell-firewall-flush', 'disables the firewall', at);
      return findings.review('shell-firewall', 'changes firewall rules', at);
    case 'kill':
    case 'pkill':
    case 'killall':
      if (base === 'kill' && args.some((a) => a === '1' || a === '-1'))
        return findings.review('shell-signal-init', 'signals pid 1 (or every process)', at);
      if (base !== 'kill') return findings.review('shell-kill-by-name', `${base} signals every process matching a name`, at);
      if (args.some((a) => a === undefined)) return findings.review('shell-kill-computed', 'signals a pid computed at run time', at);
      return;
    case 'systemctl': {
      const verb = lower.find((a) => a !== undefined && !a.startsWith('-'));
      const units = args.filter((a) => a !== undefined && !a.startsWith('-')).slice(1);
      if (['reboot', 'poweroff', 'halt', 'kexec'].includes(verb ?? ''))
        return findings.deny('shell-destructive', `systemctl ${verb} takes the host down`, at);
      if (['stop', 'disable', 'mask', 'kill'].includes(verb ?? '') && units.some((u) => u === undefined || databaseServices.test(u))) {
        return findings.review('shell-stop-database', 'stops a database service', at);
      }
      if (['status', 'is-active', 'show', 'list-units'].includes(verb ?? '')) return;
      return findings.review('shell-service', `systemctl ${verb ?? ''} changes a service`, at);
    }
    case 'kubectl': {
      const words = lower.filter((a): a is string => a !== undefined && !a.startsWith('-'));
      const verb = words[0];
      if (verb === 'delete') {
        if (
          [
            'ns',
            'namespace',
            'namespaces',
            'pv',
            'pvc',
            'persistentvolume',
            'persistentvolumes',
            'persistentvolumeclaim',
            'persistentvolumeclaims',
          ].includes(words[1] ?? '') ||
          /^(ns|namespaces?|pvc?|persistentvolume)/.test(words[1] ?? '')
        ) {
          return findings.deny('kubectl-delete-namespace-or-volume', 'deletes a namespace or a volume', at);
        }
        if (lower.includes('--all') || lower.includes('-a') || lower.includes('--all-namespaces'))
          return findings.deny('kubectl-delete-all', 'deletes everything of a kind', at);
        return findings.review('kubectl-delete', 'deletes a resource', at);
      }
      if (verb === 'scale' && args.some((a) => a === undefined || /^--replicas=0+$/.test(a)))
        return findings.review('kubectl-scale-zero', 'scales to zero', at);
      if (
        ['get', 'describe', 'logs', 'top', 'version', 'explain'].includes(verb ?? '') ||
        (verb === 'rollout' && ['status', 'history', 'restart'].includes(words[1] ?? ''))
      )
        return;
      return findings.review('kubectl-change', `kubectl ${verb ?? ''} changes the cluster`, at);
    }
    case 'redis-cli': {
      const words: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === undefined) return findings.deny('redis-computed', 'a redis command computed at run time', at);
        if (['-h', '-p', '-a', '-n', '-u', '--user', '--pass', '-s'].includes(a)) i++;
        else if (!a.startsWith('-')) words.push(a.toLowerCase());
      }
      const [verb, sub, key, value] = words;
      if (verb === 'flushall' || verb === 'flushdb') return findings.deny('redis-flush', `${verb.toUpperCase()} deletes every key`, at);
      if (verb === 'debug' || verb === 'module')
        return findings.deny('redis-debug', `${verb.toUpperCase()} can crash or extend the server`, at);
      if (
        verb === 'config' &&
        sub === 'set' &&
        ((key === 'requirepass' && (value === '' || value === undefined)) || (key === 'protected-mode' && value === 'no'))
      ) {
        return findings.deny('redis-disable-auth', 'turns Redis authentication off', at);
      }
      if (
        [
          'get',
          'info',
          'ping',
          'dbsize',
          'memory',
          'slowlog',
          'ttl',
          'type',
          'exists',
          'scan',
          'llen',
          'hlen',
          'scard',
          'zcard',
          'strlen',
          'latency',
        ].includes(verb ?? '') ||
        (verb === 'client' && sub === 'list') ||
        (verb === 'config' && sub === 'get')
      )
        return;
      return findings.review('redis-change', `redis ${verb?.toUpperCase() ?? ''} changes data or settings`, at);
    }
    case 'psql': {
      const c = args.findIndex((a) => a === '-c' || a === '--command');
      if (c >= 0) {
        const sql = args[c + 1];
        if (sql === undefined) return findings.deny('sql-computed', 'psql runs SQL computed at run time', at);
        const verdict = checkSql(sql);
        for (const f of verdict.findings) findings.add(verdict.decision, f.rule, f.message, at);
        return;
      }
      return findings.review('psql-script', 'psql runs SQL that is not checked here', at);
    }
    case 'sed':
      if (args.some((a) => a !== undefined && /pg_hba\.conf|redis\.conf|sshd_config/.test(a)))
        return findings.deny('shell-auth-config', 'edits authentication settings', at);
      if (hasFlag(args, 'i', '--in-place')) return findings.review('shell-edit-file', 'edits a file in place', at);
      return;
    case 'find':
      if (args.includes('-delete') || args.includes('-exec') || args.includes('-execdir'))
        return findings.review('shell-find-action', 'find deletes or runs commands', at);
      return;
    case 'xargs':
      return findings.deny('shell-computed-command', 'xargs runs a command with arguments computed at run time', at);
    default:
      if (readOnly.has(base)) return;
      return findings.review('shell-unknown-command', `${base} is not a command this check knows: a human checks it`, at);
  }
}

function walk(node: Node, findings: Findings): void {
  switch (node.type) {
    case 'command':
      checkCommand(resolve(node), findings);
      break;
    case 'pipeline': {
      // A download or a decoded blob piped into something that runs it.
      const commands = node.namedChildren.filter((c): c is Node => c?.type === 'command').map(resolve);
      const feedsInterpreter = commands.slice(1).some((c) => c.name === undefined || interpreters.has(c.name.split('/').at(-1) ?? ''));
      const source = commands.slice(0, -1).some((c) => {
        const base = c.name?.split('/').at(-1) ?? '';
        return (
          downloaders.has(base) ||
          (base === 'base64' && c.args.some((a) => a === '-d' || a === '--decode' || a === '-D')) ||
          base === 'xxd' ||
          base === 'openssl'
        );
      });
      if (feedsInterpreter && source)
        findings.deny('shell-pipe-to-interpreter', 'pipes a download or a decoded blob into something that runs it', span(node));
      break;
    }
    case 'function_definition': {
      const name = node.childForFieldName('name')?.text;
      const body = node.childForFieldName('body');
      if (name && body && new RegExp(`(^|[^\\w])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(body.text)) {
        findings.deny('shell-fork-bomb', `function ${name} calls itself: a fork bomb`, span(node));
      }
      break;
    }
    case 'file_redirect': {
      const target = literal(node.childForFieldName('destination') ?? node.lastNamedChild);
      if (target === undefined) findings.review('shell-redirect-computed', 'writes to a file computed at run time', span(node));
      else if (/^\/dev\/(sd|nvme|hd|vd|xvd|disk|mapper|mem|kmem|port)/.test(target))
        findings.deny('shell-wipe-device', `writes to ${target}`, span(node));
      else if (/pg_hba\.conf|redis\.conf|sshd_config|\/etc\/(passwd|shadow|sudoers)/.test(target))
        findings.deny('shell-auth-config', `overwrites ${target}`, span(node));
      break;
    }
    case 'process_substitution':
      findings.review('shell-process-substitution', 'runs a command whose output is read as a file', span(node));
      break;
  }
  for (const child of node.namedChildren) if (child) walk(child, findings);
}

function checkScript(source: string, findings: Findings, at?: [number, number]): void {
  const parser = bashParser();
  if (!parser) return findings.deny('shell-parser-unavailable', 'the shell parser is not loaded, so nothing can be checked', at);
  const tree = parser.parse(source);
  if (!tree) return findings.deny('shell-unparseable', 'the script does not parse', at);
  try {
    if (tree.rootNode.hasError) return findings.deny('shell-unparseable', 'the script does not parse as bash, so it cannot be checked', at);
    if (tree.rootNode.namedChildCount === 0) return findings.deny('shell-empty', 'no command to check', at);
    walk(tree.rootNode, findings);
  } finally {
    tree.delete();
  }
}

/**
 * Reads a shell script with a real bash parser (tree-sitter) and judges every command, through
 * wrappers, pipelines, substitutions and quoting: destructive or unknowable → deny; risky but
 * legitimate → review; read-only → allow.
 */
export function checkShell(source: string): SafetyVerdict {
  const findings = new Findings();
  checkScript(source, findings);
  return findings.verdict();
}
