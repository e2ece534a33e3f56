/**
 * Splits appended file data into complete lines, holding back a trailing partial line until
 * its newline arrives. A line longer than `maxLine` is cut to `maxLine + 1` characters (the
 * rest is dropped up to its newline), so a log without newlines can't grow memory and the
 * reader still sees that the line was too long.
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
      else if (p.length > this.maxLine) lines.push(p.slice(0, this.maxLine + 1));
      else lines.push(p.endsWith('\r') ? p.slice(0, -1) : p);
    }
    if (this.partial.length > this.maxLine) {
      if (!this.overlong) lines.push(this.partial.slice(0, this.maxLine + 1));
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
