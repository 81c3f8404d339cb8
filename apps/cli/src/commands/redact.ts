import { Command } from 'commander';
import { PlaceholderVault, redact } from '@vigil/redact';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function redactCommand(): Command {
  return new Command('redact')
    .description('read text on stdin and print it with personal data and secrets replaced by placeholders')
    .option('--json', 'print {text, entities: [{type, start, end}]} instead of the text')
    .option('--ips', 'redact IP addresses too (kept by default: they are usually operational facts)')
    .action(async (options: { json?: boolean; ips?: boolean }) => {
      const result = redact(await readStdin(), new PlaceholderVault(), { redactIpAddresses: options.ips ?? false });
      if (options.json) {
        const entities = result.entities.map(({ type, start, end }) => ({ type, start, end }));
        process.stdout.write(`${JSON.stringify({ text: result.text, entities })}\n`);
      } else process.stdout.write(result.text);
    });
}
