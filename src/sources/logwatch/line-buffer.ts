/**
 * Splits appended file data into complete lines, holding back a trailing partial line until
 * its newline arrives. A line longer than `maxLine` is cut (the rest is dropped up to its
 * newline), so a log without newlines can't grow memory.
 */
export class LineBuffer {
  private partial = '';
  private overlong = false;

  constructor(private readonly maxLine = 64 * 1024) {}

  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    const lines: string[] = [];
    for (const p of parts) {
      if (this.overlong) this.overlong = false;
      else lines.push(p.endsWith('\r') ? p.slice(0, -1) : p);
    }
    if (this.partial.length > this.maxLine) {
      if (!this.overlong) lines.push(this.partial.slice(0, this.maxLine));
      this.partial = '';
      this.overlong = true;
    }
    return lines;
  }

  /** Forgets a partial line (the file it came from was truncated or replaced). */
  reset(): void {
    this.partial = '';
    this.overlong = false;
  }
}
