// A kernel trace file (or standard input) streamed through the translator (source/trace.ts):
// the entry point a replay cell calls.
import { UsageError, escapeText, msg, shown } from '../errors.js';
import { STDIN_NAME, readLines } from './replay.js';
import type { OpSink } from './sink.js';
import { type TraceLimits, TraceTranslator } from './trace.js';
import { deviceList } from './traceEvents.js';

/**
 * Streams TRACE (`-`: standard input) through the translator. `device`: the recording device to
 * replay (--trace-device, or the one scanTraceDevices found busiest); without it, on a stream,
 * the first device seen, and the trace must hold no other. A last line with no break after it
 * (neither blank nor a comment) is not read: the kernel ends every line it prints, so a file ends
 * so when it was cut short (a capture stopped mid-line), and a field cut there would still read as
 * a value, a shorter address or size. It is counted (skipped.cut) and the output says so.
 */
export async function translateTrace(path: string, limits: TraceLimits, sink: OpSink, device: string | undefined, signal?: AbortSignal): Promise<TraceTranslator> {
  const name = path === '-' ? STDIN_NAME : path;
  const given = device !== undefined;
  const t = new TraceTranslator(name, limits, sink, device);
  let cut = false;
  const lines = await readLines(path, (text, n, unterminated) => {
    if (unterminated && text.trim() !== '' && !text.trimStart().startsWith('#')) cut = true;
    else t.line(text, n);
  }, signal);
  const s = t.finish(lines, cut);
  if (!given && s.devices.length > 1) {
    throw new UsageError(`${escapeText(name)}: the trace has events of ${s.devices.length} devices (${deviceList(s.devices)}); choose one with --trace-device`);
  }
  if (sink.count === 0) throw new UsageError(msg.scriptLine(name, lines, `no dma calls of ${shown(s.device)} to replay (its events were all counted and skipped, or swiotlb_bounced lines)`));
  return t;
}
