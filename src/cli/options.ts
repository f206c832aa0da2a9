// Options as data: one table drives parsing, validation and --help for every command.
import { parseArgs } from 'node:util';
import { UsageError, msg, nearest, oneLine } from '../errors.js';
import { parseIntOption, parseSize } from '../units.js';
import { IOMMU_MODES, KERNELS, MAX_BO_PAGES, PLATFORMS } from '../engine/abi.js';
import { GATTS, STRATEGIES, STRATEGY_CHOICES } from '../run/matrix.js';

export { GATTS, STRATEGIES, STRATEGY_CHOICES };

export const DEVICES = ['r100', 'r600', 'nv04', 'nv50', 'agp'] as const;
export const WORKLOADS = ['upload', 'readback', 'stream', 'churn'] as const;
export const ENGINES = ['wasm', 'js'] as const;

type Kind = 'choice' | 'int' | 'size' | 'flag' | 'path' | 'text';

export interface OptionSpec {
  name: string;
  kind: Kind;
  help: string;
  default?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** How --help names the value (e.g. 'DIR', 'IDS'); by default from the kind. */
  arg?: string;
  /** A 'text' option's valid values, for its error when it is given none (e.g. --only's ids). */
  values?: readonly string[];
}

const I32_MAX = 2 ** 31 - 1;

export const MACHINE_OPTIONS: OptionSpec[] = [
  { name: 'ram', kind: 'size', default: '4G', help: 'guest (or bare-metal) RAM' },
  { name: 'host-ram', kind: 'size', default: '16G', help: 'Xen host RAM (xen-pv only)' },
  { name: 'xen-low-free', kind: 'size', default: '256M', help: 'free machine memory below 4 GiB that Xen still has once the guest booted, beside the xen-swiotlb pool (xen-pv only; 0 is valid)' },
  { name: 'swiotlb', kind: 'size', default: '64M', help: 'swiotlb bounce pool size (multiple of 256K); --kernel modern boots with it as 6.12 does: on coco the default 64M becomes 6% of --ram (64M-1G), then rounded up (swiotlb_adjust_nareas: at least 2M, a power of two); the result records that pool' },
  { name: 'payload-bytes', kind: 'int', default: '0', min: 0, max: 4096, help: 'real bytes tracked per page besides version stamps (0..4096)' },
  { name: 'engine', kind: 'choice', default: 'wasm', choices: ENGINES, help: 'the Wasm engine or the TypeScript reference model' },
  { name: 'seed', kind: 'int', default: '1', min: 0, max: 2 ** 32 - 1, help: 'all randomness derives from it' },
];

export const OUTPUT_OPTIONS: OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print JSON instead of the human-readable report' },
  { name: 'out', kind: 'path', help: 'also write the JSON result to FILE (atomically)' },
];

export const PLATFORM_OPTION: OptionSpec = { name: 'platform', kind: 'choice', default: 'xen-pv', choices: PLATFORMS, help: 'where DMA addresses come from: dma-direct, forced swiotlb, Xen PV (p2m, xen-swiotlb), an IOMMU, or coco = a confidential-computing guest (SEV-SNP/TDX; --kernel modern only): every map bounces through a shared swiotlb sized 6% of --ram (64M-1G) unless --swiotlb gives another size, coherent memory is converted to shared (docs/ENGINE.md §1, §5, §16)' };
export const DEVICE_OPTION: OptionSpec = { name: 'device', kind: 'choice', default: 'r100', choices: DEVICES, help: 'GPU: r100/nv04/agp have a 32-bit DMA mask, r600/nv50 40-bit (a kernel trace replays with this mask, not the recorded one)' };
export const COSTS_OPTION: OptionSpec = { name: 'costs', kind: 'path', help: 'JSON cost table overriding the defaults, {"costs": {KEY: {"ns": N}, ...}} with any subset of the keys of costs/default.json (the built-in table, used without it; an entry may keep its "per" and "source", a "schema" must be gartbench.costs/1)' };
export const KERNEL_OPTION: OptionSpec = { name: 'kernel', kind: 'choice', default: '2010', choices: KERNELS, help: "the kernel, end to end: 2010 = Linux 2.6.37 (TTM pools, radeon/nouveau binds, xen-swiotlb, dma-debug; 3.3's ttm_page_alloc_dma behind coherent), modern = Linux 6.12 (ttm_pool.c: caching x order pools, blocks mapped at allocation; swiotlb, dma-debug, lazy IOMMU); docs/ENGINE.md" };

export const IOMMU_MODE_OPTION: OptionSpec = { name: 'iommu-mode', kind: 'choice', choices: IOMMU_MODES, help: "iommu platform: strict = invalidate the IOTLB at every unmap; lazy = Linux 6.12's flush queue (dma-iommu.c queue_iova: the page table is cleared at once, but a freed IOVA stays taken, and reachable through a translation the device had cached in its IOTLB, until the 256-entry ring fills and one flush_iotlb_all empties it). Default: lazy on --kernel modern (x86's default, CONFIG_IOMMU_DEFAULT_DMA_LAZY; iommu.strict=1 is strict), strict on 2010, which has no lazy mode; docs/ENGINE.md §8" };

export const SWIOTLB_DYNAMIC_OPTION: OptionSpec = { name: 'swiotlb-dynamic', kind: 'flag', help: "--kernel modern with CONFIG_SWIOTLB_DYNAMIC (off by default, as in 6.12's Kconfig): when no pool has room a map gets a transient pool of its own size (freed at its unmap) and a background worker adds a pool of up to 4 MiB, searched newest first; not with --kernel 2010; under xen-pv the pool cannot grow, so it changes nothing for r600, nv50 and nv04 (nouveau ignores a failed 32-bit dma_set_mask), and a 32-bit radeon (r100, agp) never comes up: 6.12's xen_swiotlb_dma_supported then checks default_swiotlb_limit(), the guest's last page, above 4 GiB, so radeon's dma_set_mask fails (6.12.0; later 6.12.y accept it): nothing moves and the result says why; docs/ENGINE.md §5" };

export const MIN_ALIGN_MASK_OPTION: OptionSpec = { name: 'min-align-mask', kind: 'int', default: '0', min: 0, help: "--kernel modern: the device's DMA min_align_mask (dma_get_min_align_mask, Linux 5.12+), a decimal integer: 0 or 2^k-1 up to 4095 (1, 3, 7, ..., 2047, 4095; NVMe sets 4095, no modelled GPU sets one). A bounced map keeps the original address's bits under the mask: those below 2 KiB as an offset into the first slot, bit 11 by slot choice; a map of a page or more is then no longer page-aligned beyond that. Not with --kernel 2010; docs/ENGINE.md §5" };

export const GATT_OPTION: OptionSpec = { name: 'gatt', kind: 'choice', default: 'phys', choices: GATTS, help: 'AGP GATT strategy (only with agp): where the driver puts the table and what address the bridge is given' };

export const STRATEGY_OPTION: OptionSpec = { name: 'strategy', kind: 'choice', default: 'legacy', choices: STRATEGY_CHOICES, help: "TTM path fix (not with agp): the pool behind TTM pages, syncs or not; auto = what the kernel's own driver does (2010: legacy; modern: drm_need_swiotlb(dma_bits) true under xen-pv, memory encryption or RAM past the device's mask -> coherent, else legacy; the result records the choice)" };

export const SCENARIO_OPTIONS: OptionSpec[] = [
  PLATFORM_OPTION,
  DEVICE_OPTION,
  STRATEGY_OPTION,
  GATT_OPTION,
  { name: 'workload', kind: 'choice', default: 'upload', choices: WORKLOADS, help: 'what the GPU and CPU do' },
  { name: 'pages', kind: 'int', default: '4096', min: 1, max: I32_MAX, help: 'working set, 4 KiB pages (churn: pages created per round, a quarter live at once)' },
  { name: 'bo-pages', kind: 'int', default: '256', min: 1, max: MAX_BO_PAGES, help: 'pages per buffer object' },
  { name: 'rounds', kind: 'int', default: '1', min: 1, max: 1 << 20, help: 'repetitions of the workload' },
  KERNEL_OPTION,
  IOMMU_MODE_OPTION,
  SWIOTLB_DYNAMIC_OPTION,
  MIN_ALIGN_MASK_OPTION,
  { name: 'replicas', kind: 'int', default: '1', min: 1, max: 1 << 16, help: 'independent machines, seeds derived from --seed; results are summed (a peak, swiotlbPeakSlots or extra.ttmDmaPeakInUse, is the largest replica\'s)' },
  { name: 'workers', kind: 'int', default: '1', min: 1, max: 256, help: 'threads that run cells (this one and N − 1 worker threads), at most one per cell (replica) and, without --oversubscribe, per core; the output says when a request was capped (never changes a counter)' },
  { name: 'oversubscribe', kind: 'flag', help: 'let --workers exceed the cores (os.availableParallelism()); never the cells' },
  COSTS_OPTION,
];

/** `--shard K/N` (matrix; the bench can take the same spec): src/run/shard.ts. */
export const SHARD_OPTION: OptionSpec = {
  name: 'shard', kind: 'text', arg: 'K/N',
  help: 'run only shard K of N (1 ≤ K ≤ N): the cells whose index i (0-based, in the unsharded order) has i mod N = K−1; --json/--out then also record what `gartbench merge` needs to join the parts into the unsharded result. For a scheduler you already run (a CI matrix, a Kubernetes Indexed Job: README.md). Without it: every cell',
};

export type Values = Record<string, string | number | boolean | undefined>;

/** Parses argv against the specs; returns typed values (defaults applied) and positionals. */
export function parseOptions(cmd: string, argv: string[], specs: OptionSpec[], positionals = 0): { values: Values; args: string[]; given: Set<string> } {
  // -h or --help anywhere before '--' shows the help, whatever else the line holds.
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help')) return { values: { help: true }, args: [], given: new Set() };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const s of specs) options[s.name] = { type: s.kind === 'flag' ? 'boolean' : 'string' };
  // A value that starts with '-' but reads as a number ('--pages -5', '-Infinity', '-NaN') is the
  // option's value, so that the range check, not the parser, answers it.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|inf|nan)/i.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    // node's messages quote the option as typed; an unknown one may hold any character.
    const err = e as { code?: string; message: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const typed = /^Unknown option '(.*)'\. To specify/s.exec(err.message)?.[1] ?? '?';
      throw new UsageError(msg.unknownOption(typed, cmd, typed.startsWith('--') ? nearest(typed.slice(2), Object.keys(options)) : undefined));
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /^Option '--([a-z-]+)/.exec(err.message)?.[1] ?? '?';
      throw new UsageError(options[name]?.type === 'boolean' ? msg.takesNoValue(name) : msg.needsValue(name));
    }
    throw new UsageError(oneLine(err.message.split('\n')[0]!));
  }
  const values: Values = { help: parsed.values.help as boolean | undefined };
  const given = new Set<string>();
  for (const s of specs) {
    const raw = parsed.values[s.name] as string | boolean | undefined;
    if (raw !== undefined) given.add(s.name);
    values[s.name] = convert(s, raw ?? s.default);
  }
  if (!values.help && parsed.positionals.length > positionals) throw new UsageError(msg.extraArg(parsed.positionals[positionals]!, cmd));
  return { values, args: parsed.positionals, given };
}

function convert(s: OptionSpec, raw: string | boolean | undefined): string | number | boolean | undefined {
  if (raw === undefined) return s.kind === 'flag' ? false : undefined;
  if (typeof raw === 'boolean') return raw;
  switch (s.kind) {
    case 'choice':
      if (!s.choices!.includes(raw)) throw new UsageError(msg.badChoice(s.name, raw, s.choices!));
      return raw;
    case 'int':
      return parseIntOption(s.name, raw, s.min ?? 0, s.max ?? I32_MAX);
    case 'size':
      return parseSize(s.name, raw);
    case 'path':
      if (raw === '') throw new UsageError(msg.needsFileName(s.name));
      return raw;
    case 'text':
      if (raw === '') throw new UsageError(s.values ? msg.badChoice(s.name, raw, s.values) : msg.needsValue(s.name));
      return raw;
    case 'flag':
      return true;
  }
}

export function helpText(usage: string, about: string, specs: OptionSpec[]): string {
  const rows = specs.map((s) => {
    const arg = s.arg !== undefined ? ` ${s.arg}` : s.kind === 'flag' ? '' : s.kind === 'choice' ? ` <${s.choices!.join('|')}>` : s.kind === 'size' ? ' SIZE' : s.kind === 'path' ? ' FILE' : s.kind === 'text' ? ' TEXT' : ' N';
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    return [`  --${s.name}${arg}`, `${s.help}${def}`];
  });
  rows.push(['  -h, --help', 'show this help']);
  const w = Math.min(48, Math.max(...rows.map((r) => r[0]!.length)) + 2);
  const lines = rows.map(([a, b]) => (a!.length >= w ? `${a}\n${' '.repeat(w)}${b}` : a!.padEnd(w) + b));
  return `usage: ${usage}\n\n${about}\n\noptions:\n${lines.join('\n')}\n`;
}
