/** The cgroup CPU quota (src/cores.ts), read from copies of what Linux shows under /proc and /sys/fs/cgroup. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { cpuQuota, usableCores } from '../src/cores.js';
import { runCliInShell, withTempDir } from './helpers.js';

const roots: string[] = [];
after(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

/** A root folder holding `files` (paths as on Linux), removed when the file's tests end. */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'bb-cores-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

// A Kubernetes pod on cgroup v2 with its own cgroup namespace: the cgroup is "/" and the mount's root too.
const v2Mounts = '1360 1338 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot\n'
  + '1339 1338 0:98 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n';

test('cgroup v2: cpu.max "250000 100000" (limits.cpu: 2500m) allows 2 cores, rounded down as libuv and Rust do', () => {
  const root = fakeRoot({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': v2Mounts, '/sys/fs/cgroup/cpu.max': '250000 100000\n' });
  assert.deepEqual(cpuQuota(root), { cores: 2, file: '/sys/fs/cgroup/cpu.max' });
});

test('cgroup v2: "max" is no quota; a quota under one core still allows one', () => {
  assert.equal(cpuQuota(fakeRoot({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': v2Mounts, '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), undefined);
  assert.equal(cpuQuota(fakeRoot({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': v2Mounts, '/sys/fs/cgroup/cpu.max': '50000 100000\n' }))?.cores, 1);
});

test('cgroup v2 without a namespace (systemd, docker --cgroupns=host): the least quota on the way up to the mount binds', () => {
  const root = fakeRoot({
    '/proc/self/cgroup': '0::/system.slice/batch.service/job\n',
    '/proc/self/mountinfo': '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n',
    '/sys/fs/cgroup/system.slice/batch.service/job/cpu.max': 'max 100000\n',
    '/sys/fs/cgroup/system.slice/batch.service/cpu.max': '300000 100000\n',
    '/sys/fs/cgroup/system.slice/cpu.max': '800000 100000\n',
    '/sys/fs/cpu.max': '100000 100000\n', // above the mount: not the cgroup's
  });
  assert.deepEqual(cpuQuota(root), { cores: 3, file: '/sys/fs/cgroup/system.slice/batch.service/cpu.max' });
});

test('cgroup v2 mounted from a cgroup of its own (a container without cgroupns): the path is taken relative to the mount\'s root', () => {
  const root = fakeRoot({
    '/proc/self/cgroup': '0::/kubepods/burstable/pod1/abc\n',
    '/proc/self/mountinfo': '700 690 0:26 /kubepods/burstable/pod1/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n',
    '/sys/fs/cgroup/cpu.max': '400000 100000\n',
  });
  assert.deepEqual(cpuQuota(root), { cores: 4, file: '/sys/fs/cgroup/cpu.max' });
});

test('cgroup v1: cpu.cfs_quota_us over cpu.cfs_period_us of the cpu controller, mounted with cpuacct', () => {
  const mounts = '25 21 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n'
    + '31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct\n'
    + '32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n';
  const cgroups = '12:memory:/docker/0123\n5:cpu,cpuacct:/docker/0123\n1:name=systemd:/docker/0123\n0::/docker/0123\n';
  const root = fakeRoot({
    '/proc/self/cgroup': cgroups, '/proc/self/mountinfo': mounts,
    '/sys/fs/cgroup/cpu,cpuacct/docker/0123/cpu.cfs_quota_us': '300000\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/0123/cpu.cfs_period_us': '100000\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us': '-1\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us': '100000\n',
  });
  assert.deepEqual(cpuQuota(root), { cores: 3, file: '/sys/fs/cgroup/cpu,cpuacct/docker/0123/cpu.cfs_quota_us' });
});

test('no quota where none can be read: no cgroup files, no cpu controller mounted, a path outside the mount, a mount point with an escaped space', () => {
  assert.equal(cpuQuota(fakeRoot({})), undefined);
  assert.equal(cpuQuota(fakeRoot({ '/proc/self/cgroup': '4:memory:/a\n', '/proc/self/mountinfo': '32 25 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n' })), undefined);
  assert.equal(cpuQuota(fakeRoot({
    '/proc/self/cgroup': '0::/other\n', '/proc/self/mountinfo': '700 690 0:26 /mine /sys/fs/cgroup ro - cgroup2 cgroup rw\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n',
  })), undefined);
  assert.deepEqual(cpuQuota(fakeRoot({
    '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': '30 23 0:26 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n', '/mnt/cg two/cpu.max': '200000 100000\n',
  })), { cores: 2, file: '/mnt/cg two/cpu.max' });
});

test('usableCores is the least of the CPUs and the quota here', () => {
  const here = usableCores();
  assert.ok(here.cores >= 1 && here.cores <= here.cpus);
  assert.equal(here.quota === undefined, here.cores === here.cpus);
});

/** A cgroup v1 `cpu` folder of our own with a one-core quota, where this machine lets us make one (root, v1 mounted read-write). */
function oneCoreCgroup(): string | undefined {
  const dir = `/sys/fs/cgroup/cpu/bento-batch-test-${process.pid}`;
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), '100000');
    return dir;
  } catch {
    return undefined;
  }
}

test('a run in a cgroup with a one-core quota sizes its threads to one core and says so', async (t) => {
  const cgroup = usableCores().cpus > 1 ? oneCoreCgroup() : undefined;
  if (!cgroup) return t.skip('needs more than one CPU, and a cgroup v1 cpu hierarchy this user may write');
  t.after(() => rmdirSync(cgroup));
  await withTempDir(async (dir) => {
    const out = join(dir, 'scored.csv');
    // The shell joins the cgroup, then becomes the CLI: every thread it starts is in it.
    const result = await runCliInShell(`echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`, ['run', 'jobs/penguins.yaml', '--set', `output.path=${out}`, '--set', 'checkpoint=false', '--log-format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const cores = result.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; message: string }).find((e) => e.event === 'cores');
    assert.match(cores?.message ?? '', new RegExp(`^penguins-species: 1 of ${usableCores().cpus} cores, as the cgroup CPU quota in ${cgroup}/cpu.cfs_quota_us allows`));
  });
});
