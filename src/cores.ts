/**
 * @file The cores a run may use: the CPUs the kernel lets it run on, capped by a cgroup CPU quota.
 *
 * A Kubernetes pod with `limits.cpu: 2` on a 32-core node, or `docker run --cpus 2`, sees 32 CPUs
 * in its affinity mask (node 20's `os.availableParallelism()`, libuv 1.46, reads only that): 16
 * intra-op threads a model worker there would get 2 cores' time in all, and the kernel's CFS
 * throttling then stops every thread of the process for the rest of each 100 ms period. libuv
 * 1.49 (node 22.12, 23.3) and Rust's `available_parallelism` read the quota too, the same way as
 * here: the least quota of the process's cgroup and its ancestors, quota ÷ period rounded down,
 * at least 1.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

/** A cgroup CPU quota: the cores it allows, and the file that set it. */
export interface CpuQuota {
  readonly cores: number;
  readonly file: string;
}

/** What a run may use: the least of the affinity mask and the cgroup quota, if one binds. */
export interface Cores {
  readonly cores: number;
  /** The CPUs of the affinity mask (os.availableParallelism on node 20). */
  readonly cpus: number;
  /** The quota, where one is set below the CPUs. */
  readonly quota?: CpuQuota;
}

let cached: Cores | undefined;

/** The cores here, read once a thread (a process's quota can change, but not under a running job's feet in practice). */
export function usableCores(): Cores {
  if (cached) return cached;
  const cpus = availableParallelism();
  const quota = process.platform === 'linux' ? cpuQuota() : undefined;
  cached = quota && quota.cores < cpus ? { cores: quota.cores, cpus, quota } : { cores: cpus, cpus };
  return cached;
}

/** The cgroup (v2, or v1's `cpu` controller) CPU quota of this process, or undefined where none is set or none can be read. `root` stands for `/` (tests). */
export function cpuQuota(root = '/'): CpuQuota | undefined {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(posix.join(root, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const cgroups = read('/proc/self/cgroup');
  const mounts = read('/proc/self/mountinfo');
  if (cgroups === undefined || mounts === undefined) return undefined;
  let least: CpuQuota | undefined;
  for (const { dir, v2 } of cgroupDirs(cgroups, mounts)) {
    // Each level of the hierarchy caps the ones below it, so the least quota on the way up binds.
    for (let at = dir.path; ; at = posix.dirname(at)) {
      const quota = v2 ? quotaV2(read, posix.join(at, 'cpu.max')) : quotaV1(read, at);
      if (quota && (!least || quota.cores < least.cores)) least = quota;
      if (at === dir.mount || at.length <= dir.mount.length) break;
    }
  }
  return least;
}

/** The folders of the process's CPU cgroups: v2's unified one and v1's `cpu` one, where mounted. */
function cgroupDirs(cgroups: string, mountinfo: string): Array<{ dir: { path: string; mount: string }; v2: boolean }> {
  // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS"
  const mounts = mountinfo.split('\n').flatMap((line) => {
    const [before, after] = line.split(' - ');
    if (!before || !after) return [];
    const fields = before.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    const root = unescape(fields[3] ?? ''), point = unescape(fields[4] ?? '');
    if (fstype === 'cgroup2') return [{ v2: true, root, point }];
    if (fstype === 'cgroup' && superOptions.split(',').includes('cpu')) return [{ v2: false, root, point }];
    return [];
  });
  // /proc/self/cgroup: "ID:CONTROLLERS:PATH"; v2's line is "0::PATH".
  return cgroups.split('\n').flatMap((line) => {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) return [];
    const v2 = match[1] === '0' && match[2] === '';
    if (!v2 && !match[2]!.split(',').includes('cpu')) return [];
    const mount = mounts.find((m) => m.v2 === v2);
    if (!mount) return [];
    // The path is the cgroup's in the whole hierarchy; the mount shows it from its own root down.
    const inMount = posix.relative(mount.root, match[3]!);
    if (inMount.startsWith('..')) return [];
    return [{ dir: { path: posix.join(mount.point, inMount), mount: mount.point }, v2 }];
  });
}

/** cpu.max: "QUOTA PERIOD", or "max PERIOD" for none. */
function quotaV2(read: (file: string) => string | undefined, file: string): CpuQuota | undefined {
  const [quota, period] = (read(file) ?? '').trim().split(/\s+/);
  return fromQuota(Number(quota), Number(period ?? 100000), file);
}

/** cpu.cfs_quota_us (-1 for none) and cpu.cfs_period_us. */
function quotaV1(read: (file: string) => string | undefined, dir: string): CpuQuota | undefined {
  const file = posix.join(dir, 'cpu.cfs_quota_us');
  return fromQuota(Number(read(file)?.trim()), Number(read(posix.join(dir, 'cpu.cfs_period_us'))?.trim()), file);
}

function fromQuota(quota: number, period: number, file: string): CpuQuota | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return { cores: Math.max(1, Math.floor(quota / period)), file };
}

/** mountinfo writes a space, tab, newline or backslash in a path as an octal escape. */
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
