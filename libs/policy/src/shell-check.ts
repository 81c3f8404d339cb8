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
      return node.text.replace(/\\\n/g, '').replace(/\\(.)/g, '$1');
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
/** The only wrapper options understood, with whether each takes a value. Any other option: computed. */
const wrapperOptions: Record<string, Record<string, boolean>> = {
  sudo: { '-u': true, '-g': true, '-E': false, '-n': false, '-H': false },
  nice: { '-n': true },
  timeout: { '-s': true, '-k': true },
};
/** Variables that change what runs or how: setting one is never part of a fix. */
const dangerousVariables =
  /^(LD_[A-Z_]+|BASH_ENV|ENV|PATH|IFS|PS4|SHELLOPTS|BASHOPTS|PROMPT_COMMAND|GCONV_PATH|PYTHON[A-Z_]*|PERL5[A-Z_]*|NODE_OPTIONS|RUBYOPT|JAVA_TOOL_OPTIONS)$/;
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
/** Commands that only read, whatever their (literal) arguments. Tools that can also write are handled one by one. */
const readOnly = new Set([
  'echo',
  'cat',
  'ls',
  'head',
  'tail',
  'grep',
  'egrep',
  'fgrep',
  'wc',
  'cut',
  'tr',
  'ps',
  'pgrep',
  'free',
  'df',
  'du',
  'uptime',
  'sleep',
  'true',
  'false',
  'netstat',
  'lsof',
  'ping',
  'dig',
  'nslookup',
  'host',
  'id',
  'whoami',
  'uname',
  'pwd',
  'cd',
  'jq',
  'stat',
  'file',
  'which',
  'vmstat',
  'iostat',
  'pg_isready',
]);
/** Writes that persist access or change authentication, or devices and kernel interfaces. */
const sensitivePath =
  /^\/(etc\/(passwd|shadow|group|gshadow|sudoers[^/]*|pam\.d|cron[^/]*|crontab|ld\.so[^/]*|ssh|systemd|profile[^/]*|bash[^/]*|environment|security|postgresql|redis|mysql|hosts)|root|home\/[^/]+\/\.(ssh|bash|profile|zsh)|var\/spool\/cron|var\/lib\/(postgresql|mysql|redis)|usr|bin|sbin|lib|boot|proc|sys)(\/|$)|pg_hba\.conf|pg_ident\.conf|postgresql\.conf|redis\.conf|sshd_config|authorized_keys/;
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
  const name = literal(nameNode?.firstNamedChild ?? nameNode);
  // A glob in a command name is resolved by the shell at run time.
  words.push(name !== undefined && /[*?[]/.test(name) ? undefined : name);
  for (const arg of node.childrenForFieldName('argument')) words.push(literal(arg));
  // Prefix assignments (`LD_PRELOAD=… ls`) are variable_assignment nodes, checked by walk().
  while (words.length > 0 && words[0] !== undefined && wrappers.has(words[0].split('/').at(-1) ?? '')) {
    const wrapper = (words.shift() as string).split('/').at(-1) as string;
    const known = wrapperOptions[wrapper] ?? {};
    for (;;) {
      const next = words[0];
      if (next === undefined) break;
      if (next.startsWith('-')) {
        // An option this check does not know may take the next word: the command is then unknowable.
        if (!(next in known)) return { name: undefined, args: [], node };
        words.shift();
        if (known[next]) words.shift();
      } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(next)) {
        if (dangerousVariables.test(next.split('=')[0] as string)) return { name: 'env-hijack', args: [next], node };
        words.shift();
      } else if (wrapper === 'timeout' && /^\d/.test(next)) words.shift();
      else break;
    }
  }
  return { name: words[0], args: words.slice(1), node };
}

const span = (node: Node): [number, number] => [node.startIndex, node.endIndex];
const hasFlag = (args: Array<string | undefined>, short: string, long?: string): boolean =>
  args.some((a) => a !== undefined && ((/^-[a-zA-Z]+$/.test(a) && a.includes(short)) || (long !== undefined && a === long)));

/** A path with `//`, `/./` and `..` resolved; undefined when the shell would still expand it. */
function normalisePath(path: string): string | undefined {
  if (/[*?[\]{}~$`]/.test(path)) return undefined;
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return (absolute ? '/' : '') + parts.join('/');
}

/**
 * Whether removing this path recursively could never be a fix: relative or computed paths,
 * anything up to two levels below the root, and system or data directories at any depth.
 */
function isBroadPath(path: string): boolean {
  const p = normalisePath(path);
  if (p === undefined || !p.startsWith('/')) return true;
  if (p.split('/').filter(Boolean).length <= 2) return true;
  return sensitivePath.test(p) || /^\/(var\/lib|opt|srv|data)(\/[^/]+)?$/.test(p);
}

/** Where a redirection writes: devices, kernel interfaces and auth files are denied; other files need a human. */
function checkWriteTarget(target: string | undefined, findings: Findings, at: [number, number]): void {
  const p = target === undefined ? undefined : normalisePath(target);
  if (p === undefined) return findings.deny('shell-redirect-computed', 'writes to a file computed at run time', at);
  if (['/dev/null', '/dev/stdout', '/dev/stderr'].includes(p) || /^\/dev\/fd\/\d+$/.test(p) || /^&?\d$/.test(p)) return;
  if (p.startsWith('/dev/')) return findings.deny('shell-write-device', `writes to ${p}`, at);
  if (sensitivePath.test(p)) return findings.deny('shell-write-sensitive', `writes to ${p}`, at);
  findings.review('shell-write-file', `writes to ${p}`, at);
}

function checkCommand(cmd: Command, findings: Findings): void {
  const { name, args, node } = cmd;
  const at = span(node);
  if (name === undefined) return findings.deny('shell-computed-command', 'the command to run is computed at run time', at);
  const base = name.split('/').at(-1) ?? name;
  const lower = args.map((a) => a?.toLowerCase());
  if (/^(mkfs|mke2fs|mkfs\..+)$/.test(base)) return findings.deny('shell-wipe-filesystem', `${base} formats a filesystem`, at);
  if (base === 'env-hijack') return findings.deny('shell-env-hijack', `sets ${args[0]?.split('=')[0]}, which changes what runs`, at);
  if (args.some((a) => a !== undefined && /\$\(|`/.test(a)))
    return findings.deny('shell-deferred-code', 'an argument holds code the shell may run later', at);
  switch (base) {
    case 'coproc':
    case 'blkdiscard':
      return findings.deny('shell-destructive', `${base} runs or destroys what cannot be checked`, at);
    case 'trap': {
      const action = args[0];
      if (action === undefined) return findings.deny('shell-computed-command', 'trap runs code computed at run time', at);
      return checkScript(action, findings, at);
    }
    case 'awk':
    case 'gawk':
    case 'mawk':
    case 'nawk': {
      const program = args.find((a) => a === undefined || !a.startsWith('-'));
      if (program === undefined) return findings.deny('shell-computed-command', `${base} runs a program computed at run time`, at);
      if (/system|getline|\||>|close\(/.test(program))
        return findings.deny('shell-awk-exec', `${base} program runs commands or writes files`, at);
      if (args.some((a) => a === undefined))
        return findings.review('shell-awk-computed', `${base} reads arguments computed at run time`, at);
      return;
    }
    case 'curl':
    case 'wget': {
      if (args.some((a) => a === undefined))
        return findings.review('shell-fetch-computed', `${base} with arguments computed at run time`, at);
      const urls = args.filter((a): a is string => a !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
      if (urls.some((u) => !/^https?:\/\//i.test(u))) return findings.deny('shell-fetch-scheme', `${base} to a non-HTTP scheme`, at);
      const writes = /^(-[a-zA-Z]*[oOdTXKFu]|--(output|remote-name|data|upload|request|config|unix-socket|form|post|user|proxy|header)|-O)/;
      const out = args.findIndex((a) => a !== undefined && /^(-[a-zA-Z]*o|-O|--output|--output-document)$/.test(a));
      if (out >= 0) checkWriteTarget(args[out + 1], findings, at);
      if (args.some((a) => a !== undefined && writes.test(a)))
        return findings.review('shell-fetch-writes', `${base} sends data, uses another method or writes files`, at);
      return;
    }
    case 'sed': {
      if (args.some((a) => a === undefined)) return findings.deny('shell-computed-command', 'sed with a script computed at run time', at);
      if (args.some((a) => a !== undefined && /pg_hba\.conf|redis\.conf|sshd_config|sudoers|passwd|shadow/.test(a)))
        return findings.deny('shell-auth-config', 'edits authentication settings', at);
      if (args.some((a) => a !== undefined && !a.startsWith('-') && /(^|[;{}\s\d$/])[ewW](\s|$|\/)/.test(a)))
        return findings.deny('shell-sed-exec', 'sed runs commands or writes files (e, w)', at);
      if (args.some((a) => a !== undefined && /^(-[a-zA-Z]*i|--in-place)/.test(a)))
        return findings.review('shell-edit-file', 'edits a file in place', at);
      return;
    }
    case 'sort':
    case 'uniq':
    case 'date':
    case 'hostname':
    case 'journalctl':
    case 'ss':
    case 'top':
    case 'printf':
    case 'test':
    case '[':
    case 'tee':
      if (args.some((a) => a === undefined))
        return findings.review('shell-computed-args', `${base} with arguments computed at run time`, at);
      if (base === 'printf' && args.includes('-v'))
        return findings.deny('shell-deferred-code', 'printf -v assigns to a name the shell evaluates', at);
      if (base === 'sort' && args.some((a) => a !== undefined && /^(-o|--output)/.test(a))) {
        const o = args.findIndex((a) => a === '-o' || a === '--output');
        checkWriteTarget(
          o >= 0 ? args[o + 1] : args.find((a) => a !== undefined && /^(-o|--output=)./.test(a))?.replace(/^(-o|--output=)/, ''),
          findings,
          at,
        );
        return;
      }
      if ((base === 'test' || base === '[') && args.includes('-v'))
        return findings.deny('shell-deferred-code', 'test -v evaluates a subscript', at);
      if (base === 'tee') {
        for (const target of args.filter((a) => a !== undefined && !a.startsWith('-'))) checkWriteTarget(target, findings, at);
        return;
      }
      if (['printf', 'test', '['].includes(base)) return;
      return findings.review('shell-may-write', `${base} can change files or system state`, at);
    case 'mysql': {
      const e = args.findIndex((a) => a === '-e' || a === '--execute');
      const sql = e >= 0 ? args[e + 1] : undefined;
      if (e >= 0 && sql === undefined) return findings.deny('sql-computed', 'mysql runs SQL computed at run time', at);
      if (sql !== undefined) {
        const verdict = checkSql(sql);
        for (const f of verdict.findings) findings.add(verdict.decision, f.rule, f.message, at);
        return;
      }
      return findings.review('mysql-script', 'mysql runs SQL that is not checked here', at);
    }
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
      const c = args.findIndex((a) => a !== undefined && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a));
      if (c < 0) return findings.deny('shell-subshell', `${base} runs a script (or its input) that is not checked here`, at);
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
      if (args.some((a) => a === undefined)) return findings.deny('shell-rm-computed', 'rm with arguments computed at run time', at);
      const recursive =
        hasFlag(args, 'r') || hasFlag(args, 'R') || args.some((a) => a !== undefined && a.length >= 5 && '--recursive'.startsWith(a));
      const targets = args.filter((a): a is string => a !== undefined && !a.startsWith('-'));
      if (recursive && targets.some((t) => isBroadPath(t)))
        return findings.deny('shell-rm-broad', 'rm -r of a broad, relative or system path', at);
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
    case 'ip6tables': {
      const long = (a: string, option: string): boolean => a.length >= 4 && option.startsWith(a);
      if (
        args.some((a) => a === undefined || ['-F', '-X'].includes(a) || long(a, '--flush') || long(a, '--delete-chain')) ||
        (args.some((a) => a === '-P' || (a !== undefined && long(a, '--policy'))) && lower.includes('accept'))
      ) {
        return findings.deny('shell-firewall-flush', 'flushes or opens the firewall', at);
      }
      return findings.review('shell-firewall', 'changes firewall rules', at);
    }
    case 'nft':
      if (lower.some((a) => a === undefined || a.includes('flush')))
        return findings.deny('shell-firewall-flush', 'flushes the firewall rules', at);
      return findings.review('shell-firewall', 'changes firewall rules', at);
    case 'ufw':
      if (lower.some((a) => a === undefined || a === 'disable' || a === 'reset'))
        return findings.deny('shell-firewall-flush', 'disables or resets the firewall', at);
      return findings.review('shell-firewall', 'changes firewall rules', at);
    case 'kill':
    case 'pkill':
    case 'killall':
      if (base !== 'kill') return findings.review('shell-kill-by-name', `${base} signals every process matching a name`, at);
      if (args.some((a) => a === undefined)) return findings.review('shell-kill-computed', 'signals a pid computed at run time', at);
      if (
        args.some(
          (a) =>
            a !== undefined &&
            a.trim() !== '' &&
            !/^-[A-Za-z]/.test(a.trim()) &&
            a.trim() !== '--' &&
            [0, 1, -1].includes(Number(a.trim())),
        )
      ) {
        return findings.review('shell-signal-init', 'signals pid 1, its group, or every process', at);
      }
      return;
    case 'systemctl': {
      if (lower.some((a) => a === undefined))
        return findings.deny('shell-computed-command', 'systemctl with arguments computed at run time', at);
      if (lower.some((a) => /^(reboot|poweroff|halt|kexec|rescue|emergency)(\.target)?$/.test(a ?? '')))
        return findings.deny('shell-destructive', 'systemctl takes the host down', at);
      const words = lower.filter((a): a is string => a !== undefined && !a.startsWith('-'));
      if (['stop', 'disable', 'mask', 'kill'].some((v) => words.includes(v)) && words.some((u) => databaseServices.test(u))) {
        return findings.review('shell-stop-database', 'stops a database service', at);
      }
      if (
        words.length > 0 &&
        words.every(
          (w) =>
            ['status', 'is-active', 'show', 'list-units'].includes(w) ||
            !/^(start|stop|restart|reload|enable|disable|mask|kill|isolate|set-property|edit|daemon-reload)$/.test(w),
        ) &&
        !words.some((w) => /^(start|stop|restart|reload|enable|disable|mask|kill|isolate)$/.test(w))
      )
        return;
      return findings.review('shell-service', 'systemctl changes a service', at);
    }
    case 'kubectl': {
      if (lower.some((a) => a === undefined)) return findings.deny('kubectl-computed', 'kubectl with arguments computed at run time', at);
      const valueFlags = new Set([
        '-n',
        '--namespace',
        '--context',
        '-s',
        '--server',
        '--kubeconfig',
        '--as',
        '-l',
        '--selector',
        '--cluster',
        '--user',
        '-o',
        '--output',
      ]);
      const words: string[] = [];
      for (let i = 0; i < lower.length; i++) {
        const a = lower[i] as string;
        if (valueFlags.has(a)) i++;
        else if (!a.startsWith('-')) words.push(...a.split(/[,/]/));
      }
      if (
        words.includes('delete') &&
        words.some((w) =>
          /^(ns|namespaces?|pvc?|persistentvolumes?|persistentvolumeclaims?|crd|customresourcedefinitions?|nodes?|clusterroles?|clusterrolebindings?)$/.test(
            w,
          ),
        )
      ) {
        return findings.deny('kubectl-delete-namespace-or-volume', 'deletes a namespace, a volume or a cluster resource', at);
      }
      if (words.includes('exec') || words.includes('debug') || words.includes('cp'))
        return findings.review('kubectl-exec', 'runs commands or copies files inside the cluster', at);
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
        else if (['--tls', '--no-auth-warning', '--raw', '--no-raw'].includes(a)) continue;
        else if (a.startsWith('-')) return findings.deny('redis-unknown-option', `redis-cli option ${a} is not understood here`, at);
        else words.push(a.toLowerCase());
      }
      const [verb, sub, key, value] = words;
      if (verb === 'flushall' || verb === 'flushdb') return findings.deny('redis-flush', `${verb.toUpperCase()} deletes every key`, at);
      if (
        [
          'debug',
          'module',
          'eval',
          'evalsha',
          'eval_ro',
          'fcall',
          'function',
          'script',
          'acl',
          'replicaof',
          'slaveof',
          'migrate',
          'restore',
        ].includes(verb ?? '')
      ) {
        return findings.deny('redis-dangerous', `${verb?.toUpperCase()} runs code, changes access or moves data`, at);
      }
      if (verb === 'config' && sub === 'set' && ['dir', 'dbfilename', 'masterauth', 'logfile'].includes(key ?? '')) {
        return findings.deny('redis-disable-auth', `CONFIG SET ${key} changes where files are written or who replicates`, at);
      }
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
      const commands: Array<string | undefined> = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === undefined) return findings.deny('sql-computed', 'psql with arguments computed at run time', at);
        if (a === '-c' || a === '--command') commands.push(args[++i]);
        else if (a.startsWith('--command=')) commands.push(a.slice('--command='.length));
        else if (/^(-f|--file|-o|--output|-L|--log-file)(=|$)/.test(a))
          return findings.deny('psql-file', `psql ${a} reads or writes files (or runs commands)`, at);
      }
      if (commands.length === 0) return findings.deny('psql-script', 'psql runs SQL from its input, which is not checked here', at);
      for (const sql of commands) {
        if (sql === undefined) return findings.deny('sql-computed', 'psql runs SQL computed at run time', at);
        if (/^\s*\\/.test(sql) || /\\[!ioqw]|\\copy/i.test(sql))
          return findings.deny('psql-meta', 'psql meta-commands run shell commands or touch files', at);
        const verdict = checkSql(sql);
        for (const f of verdict.findings) findings.add(verdict.decision, f.rule, f.message, at);
      }
      return;
    }
    case 'find': {
      if (args.some((a) => a === undefined)) return findings.deny('shell-computed-command', 'find with arguments computed at run time', at);
      const acts = args.some((a) => a !== undefined && /^-(delete|exec|execdir|ok|okdir|fprint|fprint0|fprintf|fls)$/.test(a));
      const root = args.find((a): a is string => a !== undefined && !a.startsWith('-'));
      if (acts && (root === undefined || isBroadPath(root)))
        return findings.deny('shell-find-broad', 'find deletes, writes or runs commands over a broad path', at);
      if (acts) return findings.review('shell-find-action', 'find deletes, writes or runs commands', at);
      return;
    }
    case 'xargs':
      return findings.deny('shell-computed-command', 'xargs runs a command with arguments computed at run time', at);
    default:
      if (readOnly.has(base)) return;
      return findings.review('shell-unknown-command', `${base} is not a command this check knows: a human checks it`, at);
  }
}

/** Interpreters a stage of a pipeline (or a subshell in it) runs. */
function commandsIn(node: Node): Command[] {
  if (node.type === 'command') return [resolve(node)];
  return node.namedChildren.filter((c): c is Node => c !== null).flatMap((c) => (c.type === 'command_substitution' ? [] : commandsIn(c)));
}

const isInterpreter = (cmd: Command): boolean =>
  cmd.name === undefined ||
  interpreters.has(cmd.name.split('/').at(-1) ?? '') ||
  cmd.name === 'awk' ||
  cmd.name === 'sed' ||
  cmd.name === 'xargs';

/** Names a script may not redefine: a function called `ls` could do anything the check allows `ls` to do. */
const shadowable = new Set([
  ...readOnly,
  ...wrappers,
  ...interpreters,
  'rm',
  'kill',
  'kubectl',
  'redis-cli',
  'systemctl',
  'curl',
  'wget',
  'sed',
  'awk',
  'find',
  'cp',
  'mv',
  'test',
  '[',
  'printf',
]);

function walk(node: Node, findings: Findings, depth = 0): void {
  if (depth > 200) return findings.deny('shell-too-deep', 'the script nests too deeply to be checked', span(node));
  switch (node.type) {
    case 'command':
      checkCommand(resolve(node), findings);
      break;
    case 'expansion':
    case 'arithmetic_expansion':
      // tree-sitter leaves some ${x#…} / ${x:-`…`} patterns opaque: a substitution there runs unseen.
      if (/\$\(|`|<\(|>\(/.test(node.text))
        findings.deny('shell-hidden-substitution', 'a command substitution inside an expansion', span(node));
      if (/^\$\{!|@P\}$/.test(node.text) || node.type === 'arithmetic_expansion') {
        findings.deny('shell-deferred-code', 'an expansion that evaluates text as code (indirection, @P or arithmetic)', span(node));
      }
      break;
    case 'variable_assignment': {
      const name = node.childForFieldName('name')?.text ?? '';
      if (dangerousVariables.test(name)) findings.deny('shell-env-hijack', `sets ${name}, which changes what runs`, span(node));
      const value = node.childForFieldName('value');
      if (value && /\$\(|`/.test(value.text) && value.type !== 'command_substitution')
        findings.deny('shell-deferred-code', 'assigns text that the shell may run later', span(node));
      break;
    }
    case 'pipeline': {
      // Anything fed into an interpreter runs unchecked: a download, a decoded blob, or plain text.
      const stages = node.namedChildren.filter((c): c is Node => c !== null);
      if (stages.slice(1).some((stage) => commandsIn(stage).some(isInterpreter))) {
        findings.deny('shell-pipe-to-interpreter', 'pipes text into something that runs it', span(node));
      }
      break;
    }
    case 'redirected_statement': {
      const body = node.childForFieldName('body');
      const feeds = node.namedChildren.some(
        (c) =>
          c !== null &&
          (c.type === 'heredoc_redirect' || c.type === 'herestring_redirect' || (c.type === 'file_redirect' && c.text.startsWith('<'))),
      );
      if (body && feeds && commandsIn(body).some(isInterpreter))
        findings.deny('shell-stdin-to-interpreter', 'feeds text into something that runs it', span(node));
      break;
    }
    case 'function_definition': {
      const name = node.childForFieldName('name')?.text ?? '';
      const body = node.childForFieldName('body');
      if (shadowable.has(name))
        findings.deny('shell-shadow-command', `defines a function named ${name}, hiding the real command`, span(node));
      else if (body && /(^|[^&])&([^&]|$)/.test(body.text))
        findings.deny('shell-fork-bomb', `function ${name} starts background copies: a fork bomb pattern`, span(node));
      else if (body && new RegExp(`(^|[^\\w])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(body.text)) {
        findings.deny('shell-fork-bomb', `function ${name} calls itself: a fork bomb`, span(node));
      } else findings.review('shell-function', `defines function ${name}`, span(node));
      break;
    }
    case 'file_redirect': {
      const destination = node.childForFieldName('destination') ?? node.lastNamedChild;
      const target = literal(destination);
      if (node.text.startsWith('<')) {
        if (target === undefined || /^\/dev\/(tcp|udp)\//.test(normalisePath(target) ?? ''))
          findings.deny('shell-network-input', 'reads from the network or a computed file', span(node));
      } else if (!/^\d?>&\d-?$/.test(node.text.replace(/\s/g, ''))) checkWriteTarget(target, findings, span(node));
      break;
    }
    case 'process_substitution':
      findings.deny('shell-process-substitution', 'runs a command whose output is read as a file', span(node));
      break;
  }
  for (const child of node.namedChildren) if (child) walk(child, findings, depth + 1);
}

const MAX_SCRIPT = 32 * 1024;

function checkScript(source: string, findings: Findings, at?: [number, number]): void {
  const parser = bashParser();
  if (!parser) return findings.deny('shell-parser-unavailable', 'the shell parser is not loaded, so nothing can be checked', at);
  if (source.length > MAX_SCRIPT) return findings.deny('shell-too-long', `scripts over ${MAX_SCRIPT} characters are not checked`, at);
  let tree;
  try {
    tree = parser.parse(source);
  } catch (error) {
    return findings.deny('shell-parser-failed', `the parser failed: ${(error as Error).message}`, at);
  }
  if (!tree) return findings.deny('shell-unparseable', 'the script does not parse', at);
  try {
    if (tree.rootNode.hasError) return findings.deny('shell-unparseable', 'the script does not parse as bash, so it cannot be checked', at);
    if (tree.rootNode.namedChildCount === 0) return findings.deny('shell-empty', 'no command to check', at);
    walk(tree.rootNode, findings);
  } catch (error) {
    findings.deny('shell-check-failed', `the check could not finish: ${(error as Error).message}`, at);
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
