// A kernel trace file (or standard input) streamed through the translator (source/trace.ts):
// the entry point a replay cell calls.
import { UsageError, escapeText, msg, shown } from '../errors.js';
import { STDIN_NAME, readLines } from './replay.js';
import type { OpSink } from './sink.js';
import { type TraceLimits, TraceTranslator } from './trace.js';
import { NO_TRACE_EVENTS, TraceSyntaxError, deviceList, eventDevice, traceLineHead } from './traceEvents.js';
import { AddrFolder } from './traceAddr.js';
import { byEvents, cutNote } from './traceSummary.js';

/**
 * A last line with no break after it that is, or may be, one of our events: not read. The kernel
 * ends every line it prints (an event's output function, trace_raw_output_<event> from
 * include/trace/trace_events.h, appends the break to TP_printk's format, and tracing_read_pipe
 * gives no partial line), so a file ends so where it was cut short (a `trace-cmd report > FILE`
 * killed mid-write, a full disk, a truncated copy), and a field cut there would still read as a
 * value, a shorter address or size. Another event, a comment or a lost-events line is read as any.
 */
function cutShort(text: string): boolean {
  try {
    return traceLineHead(text).kind === 'ours';
  } catch {
    return true; // cut inside an event's name, or before its colon: what it was is not known
  }
}

/**
 * Streams TRACE (`-`: standard input) through the translator. `device`: the recording device to
 * replay (--trace-device, or the one scanTraceDevices found busiest); without it, on a stream,
 * the first device seen, and the trace must hold no other. A cut last line (cutShort) is not
 * read: it is counted (skipped.cut) and the output says so.
 */
export async function translateTrace(path: string, limits: TraceLimits, sink: OpSink, device: string | undefined, signal?: AbortSignal): Promise<TraceTranslator> {
  const name = path === '-' ? STDIN_NAME : path;
  const given = device !== undefined;
  const t = new TraceTranslator(name, limits, sink, device);
  const before = sink.count; // the cell may have pushed an op of its own first (DEVICE_DOWN)
  let cut = false;
  const lines = await readLines(path, (text, n, unterminated) => {
    if (unterminated && cutShort(text)) cut = true;
    else t.line(text, n);
  }, signal);
  const s = t.finish(lines, cut);
  if (!given && s.devices.length > 1) {
    throw new UsageError(`${escapeText(name)}: the trace has events of ${s.devices.length} devices (${deviceList(s.devices)}); choose one with --trace-device`);
  }
  if (sink.count === before) throw new UsageError(msg.scriptLine(name, lines, `no dma calls of ${shown(s.device)} to replay (its events were all counted and skipped, or swiotlb_bounced lines)${cutNote(cut)}`));
  return t;
}

export interface TraceScan { devices: { name: string; events: number }[]; lines: number; cut: boolean }

/** Counts each device's dma and swiotlb events (a first pass over a trace file, before any work; a
 * line's other fields are read, and their errors reported, by the replay; a cut last line is not read). */
export async function scanTraceDevices(path: string, signal?: AbortSignal): Promise<TraceScan> {
  const counts = new Map<string, number>();
  const folder = new AddrFolder();
  let cut = false;
  const lines = await readLines(path, (text, n, unterminated) => {
    if (unterminated && cutShort(text)) return void (cut = true);
    let device: string | undefined;
    try {
      const h = traceLineHead(text);
      if (h.kind === 'ours') device = eventDevice(h.name, h.fields, folder);
    } catch (e) {
      if (e instanceof TraceSyntaxError) throw new UsageError(msg.scriptLine(path, n, e.message));
      throw e;
    }
    if (device !== undefined) counts.set(device, (counts.get(device) ?? 0) + 1);
  }, signal);
  return { devices: byEvents(counts), lines, cut };
}

/** The device to replay when --trace-device is not given: the one with most events; a tie is the user's to break. */
export function busiestDevice(path: string, { devices, lines, cut }: TraceScan): string {
  if (devices.length === 0) throw new UsageError(msg.scriptLine(path, lines, `${NO_TRACE_EVENTS}${cutNote(cut)}`));
  if (devices.length > 1 && devices[0]!.events === devices[1]!.events) {
    throw new UsageError(`${escapeText(path)}: several devices have the most events (${deviceList(devices)}); choose one with --trace-device`);
  }
  return devices[0]!.name;
}
