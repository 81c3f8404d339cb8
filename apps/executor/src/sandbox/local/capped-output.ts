/**
 * Keeps the first `limit` bytes of a stream and drops the rest, still reading it so a chatty
 * script never blocks on a full pipe (the wall-clock limit ends one that never stops).
 */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  /** UTF-8; a character cut at the limit shows as U+FFFD. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
