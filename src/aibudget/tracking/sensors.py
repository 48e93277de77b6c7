"""Sensors: what a tracked job uses, each read through one small interface.

A :class:`Sensor` returns a :class:`Reading` each time it is read: cumulative energy since the
sensor started (J) where it measures energy, and whatever else it knows (CPU seconds, memory).
Every reading says which method measured it, so a ledger row can be told from a model's guess:

* :class:`NvmlSensor`: NVIDIA GPUs through NVML, by UUID: the cumulative energy counter where the
  GPU has one, else power sampled and integrated over time; only the GPUs the job may use
  (``CUDA_VISIBLE_DEVICES``: indices, UUIDs, MIG devices as their parent GPU), and only those no
  other tracker on the node is already measuring (a lock file per GPU, in a directory private
  to the user: see :func:`gpu_lock_dir`);
* :class:`RaplSensor`: CPU package and DRAM energy from Linux powercap (RAPL) counters, with
  their wraparound;
* :class:`CpuModelSensor`: where RAPL cannot be read, a labelled model: the process tree's CPU
  seconds × a sourced power per core;
* :class:`ProcessSensor`: the process tree's CPU time and resident memory (psutil);
* :class:`ReplaySensor`: recorded readings played back, for faults a machine cannot produce on
  demand (a counter that wraps or resets, a sensor that raises).

Counters are turned into energy by :class:`Counter`, which handles a wrap (a known range) and a
reset (a fall with no range, or larger than one wrap could explain).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aibudget._record import record

__all__ = [
    "Counter",
    "CpuModelSensor",
    "FailedSensor",
    "NvmlSensor",
    "ProcessSensor",
    "RaplSensor",
    "Reading",
    "ReplaySensor",
    "Sensor",
    "UnsafeLockError",
    "available_sensors",
    "gpu_lock_dir",
    "visible_gpus",
]


@record
class Reading:
    """One reading of one sensor. Energy is cumulative since the sensor started."""

    sensor: str
    method: str
    energy_j: float | None = None
    power_w: float | None = None
    cpu_s: float | None = None
    rss_bytes: float | None = None
    devices: int = 0  # accelerators measured (GPU sensors)
    note: str = ""


class Sensor(Protocol):
    """What every sensor offers: a name, its method, and a reading."""

    name: str
    method: str

    def read(self) -> Reading: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- counters


@dataclass
class Counter:
    """A monotonic total from a hardware counter that may wrap (at ``range``) or reset."""

    scale: float = 1.0  # counter units → joules
    range: float | None = None  # the counter's wrap-around value, when known
    total: float = 0.0
    last: float | None = None
    wraps: int = 0
    resets: int = 0

    def update(self, raw: float) -> float:
        """Add the increase since the last value and return the total (J)."""
        if self.last is not None:
            delta = raw - self.last
            if delta < 0:
                if self.range is not None and self.last - raw <= self.range:
                    delta += self.range
                    self.wraps += 1
                else:  # the counter started again from zero
                    delta = raw
                    self.resets += 1
            self.total += delta * self.scale
        self.last = raw
        return self.total


# --------------------------------------------------------------------------- process tree


class ProcessSensor:
    """CPU seconds (user + system) and resident memory of a process and its descendants,
    including children that have already exited (their times accumulate in the parent)."""

    name = "process"
    method = "psutil process tree"

    def __init__(self, pid: int | None = None) -> None:
        import psutil

        self._psutil = psutil
        self.pid = pid or os.getpid()
        self.root = psutil.Process(self.pid)
        self._seen: dict[int, float] = {}  # live descendants' last CPU seconds
        self._gone = 0.0  # CPU seconds of descendants that exited since last read
        self._last = 0.0  # the last total read: a counter of used CPU never goes down

    def _tree(self) -> Iterator[Any]:
        yield self.root
        for pid in _descendants(self.pid):
            with contextlib.suppress(self._psutil.Error):
                yield self._psutil.Process(pid)

    #: CPU seconds of the whole tree measured when its root was reaped (``os.wait4``): exact,
    #: where the last periodic reading may be up to an interval old.
    final_cpu_s: float | None = None

    def read(self) -> Reading:
        if self.final_cpu_s is not None:
            return Reading(self.name, "os.wait4 resource usage", cpu_s=self.final_cpu_s)
        cpu = rss = 0.0
        live: dict[int, float] = {}
        for proc in self._tree():
            try:
                times = proc.cpu_times()
                used = times.user + times.system
                if proc.pid == self.pid:  # includes children already reaped
                    used += times.children_user + times.children_system
                cpu += used
                rss += proc.memory_info().rss
                live[proc.pid] = used
            except self._psutil.Error:
                continue
        # a descendant that vanished before its parent reaped it: keep its last CPU seconds
        for pid, used in self._seen.items():
            if pid not in live:
                self._gone += used
        self._seen = {pid: used for pid, used in live.items() if pid != self.pid}
        # Between the root's exit and its reaping, psutil cannot read it (a zombie): the tree
        # then reads as less than it has used. The total read before stands until wait4's.
        self._last = max(self._last, cpu + self._gone)
        return Reading(self.name, self.method, cpu_s=self._last, rss_bytes=rss)

    def close(self) -> None:
        return None


def _descendants(pid: int) -> list[int]:
    """A process's descendants. On Linux from ``/proc/<pid>/task/<tid>/children`` (a few small
    reads: cheap even while the job holds the GIL, unlike a scan of every process); elsewhere
    through psutil."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        import psutil

        with contextlib.suppress(psutil.Error):
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        return []
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in task.read_text().split()]
                found.extend(children)
                pending.extend(children)
    return found


class CpuModelSensor:
    """Energy modelled from CPU time: CPU seconds × watts per busy core (a sourced figure);
    used where RAPL cannot be read."""

    name = "cpu-model"

    def __init__(self, process: ProcessSensor, watts_per_core: float, source: str) -> None:
        self.process = process
        self.watts_per_core = watts_per_core
        self.method = f"model: CPU seconds × {watts_per_core:g} W per core ({source})"

    def read(self) -> Reading:
        cpu = self.process.read().cpu_s or 0.0
        return Reading(self.name, self.method, energy_j=cpu * self.watts_per_core, cpu_s=cpu)

    def close(self) -> None:
        return None


# --------------------------------------------------------------------------- RAPL


class RaplSensor:
    """CPU package and DRAM energy from the powercap RAPL zones under ``root``.

    Each zone's ``energy_uj`` counter wraps at ``max_energy_range_uj``; a zone whose counter
    cannot be read at start is left out (and named in the note); one that fails later is
    reported by :meth:`read` raising, which the tracker records."""

    name = "rapl"
    method = "RAPL powercap energy counters (CPU package and DRAM)"

    def __init__(self, root: str | Path = "/sys/class/powercap") -> None:
        base = Path(root)
        self.zones: dict[Path, Counter] = {}
        skipped = []
        for zone in sorted(base.glob("intel-rapl:*")) if base.exists() else []:
            energy = zone / "energy_uj"
            try:
                raw = float(energy.read_text())
                limit = zone / "max_energy_range_uj"
                wrap = float(limit.read_text()) if limit.exists() else None
            except (OSError, ValueError) as error:
                skipped.append(f"{zone.name}: {error.__class__.__name__}")
                continue
            if ":" in zone.name.split("intel-rapl:", 1)[1] and self._inside_package(zone, base):
                continue  # a subzone (core, uncore) of a package already counted
            counter = Counter(scale=1e-6, range=wrap)
            counter.update(raw)
            self.zones[energy] = counter
        if not self.zones:
            raise OSError("no readable RAPL zone" + (f" ({'; '.join(skipped)})" if skipped else ""))
        self.note = f"left out: {'; '.join(skipped)}" if skipped else ""

    @staticmethod
    def _inside_package(zone: Path, base: Path) -> bool:
        """Subzones intel-rapl:0:0 (cores) are inside the package; DRAM (intel-rapl:0:2 named
        "dram") is not counted by the package on most parts, so it is kept."""
        name_file = zone / "name"
        name = name_file.read_text().strip() if name_file.exists() else ""
        return name != "dram"

    def read(self) -> Reading:
        total = 0.0
        for path, counter in self.zones.items():
            total = total + counter.update(float(path.read_text()))
        wraps = sum(c.wraps for c in self.zones.values())
        return Reading(
            self.name,
            self.method,
            energy_j=total,
            note=(f"{wraps} wraps; " if wraps else "") + self.note,
        )

    def close(self) -> None:
        return None


# --------------------------------------------------------------------------- NVML


def visible_gpus(environ: dict[str, str] | None = None) -> list[str] | None:
    """The GPUs ``CUDA_VISIBLE_DEVICES`` allows, as written (indices, UUIDs, MIG names), or
    None when it is not set (every GPU)."""
    value = (environ if environ is not None else os.environ).get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class UnsafeLockError(OSError):
    """The GPU lock directory or a lock file is not private to this user (a symlink, another
    owner, open to others): the GPUs are not measured rather than trust it."""


def gpu_lock_dir(environ: dict[str, str] | None = None) -> Path:
    """Where this user's GPU lock files live: ``$XDG_RUNTIME_DIR/aibudget-gpu-locks`` when the
    runtime directory is set and private (the user's own, mode 0700, as the XDG spec requires),
    else ``gpu-locks`` in the user's cache directory (platformdirs). Never a directory shared
    with other users, where one could plant a symlink or take another's locks."""
    env = environ if environ is not None else os.environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        try:
            info = os.lstat(runtime)
            if (
                stat.S_ISDIR(info.st_mode)
                and info.st_uid == os.geteuid()
                and not info.st_mode & 0o077
            ):
                return Path(runtime) / "aibudget-gpu-locks"
        except OSError:
            pass
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("aibudget", appauthor=False)) / "gpu-locks"


def _private_dir(directory: Path) -> None:
    """Make ``directory`` (mode 0700) or check it is a real directory of this user's that no
    one else can write; a directory of ours left open to others is closed (chmod 0700)."""
    if not os.path.lexists(directory):
        directory.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeLockError(
            f"the GPU lock directory {directory} is a symlink or not a directory; GPUs not "
            "measured (remove it: aibudget makes it again, private)"
        )
    if info.st_uid != os.geteuid():
        raise UnsafeLockError(
            f"the GPU lock directory {directory} belongs to user {info.st_uid}, not to you "
            f"({os.geteuid()}); GPUs not measured (remove it: aibudget makes it again, private)"
        )
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)


class _GpuLock:
    """One process per node measures a GPU: an exclusive, non-blocking lock file per UUID, held
    while the sensor lives. Another tracker on the same node sees it taken and leaves the GPU
    out, so a job of several processes counts each GPU once.

    The file is opened without following a symlink (``O_NOFOLLOW``) and never truncated, and it
    must be a regular file of this user's: a lock file someone pointed elsewhere is refused
    (:class:`UnsafeLockError`) and the file it pointed at is left untouched."""

    def __init__(self, directory: Path, uuid: str) -> None:
        import fcntl  # POSIX: NVIDIA's NVML runs on Linux (and Windows, unlocked, is not supported)

        path = directory / f"{uuid.replace('/', '_')}.lock"
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags | os.O_NONBLOCK, 0o600)
        except OSError as error:
            if os.path.islink(path):
                raise UnsafeLockError(
                    f"the GPU lock file {path} is a symlink; refused, and what it points at "
                    "left untouched (remove it)"
                ) from None
            raise UnsafeLockError(f"cannot open the GPU lock file {path}: {error}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise UnsafeLockError(
                f"the GPU lock file {path} is not a regular file of yours; refused (remove it)"
            )
        self.handle = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            raise

    def release(self) -> None:
        import fcntl

        with contextlib.suppress(OSError):
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


@dataclass
class _Gpu:
    uuid: str
    handle: Any
    counter: Counter | None  # None: no energy counter, power is sampled
    lock: _GpuLock
    energy_j: float = 0.0
    last_t: float | None = None


@dataclass
class NvmlSensor:
    """GPU energy through NVML for the GPUs this job may use."""

    nvml: Any = None  # the pynvml module, or anything with its functions (tests)
    environ: dict[str, str] | None = None
    lock_dir: Path = field(default_factory=gpu_lock_dir)
    clock: Callable[[], float] = time.monotonic
    name: str = "nvml"
    method: str = "NVML"
    gpus: list[_Gpu] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        if self.nvml is None:
            import pynvml

            self.nvml = pynvml
        nvml = self.nvml
        nvml.nvmlInit()
        count = nvml.nvmlDeviceGetCount()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        uuids = [_text(nvml.nvmlDeviceGetUUID(h)) for h in handles]
        wanted = visible_gpus(self.environ)
        chosen = list(range(count)) if wanted is None else _select(wanted, uuids)
        methods, elsewhere = set(), []
        try:
            _private_dir(self.lock_dir)
        except UnsafeLockError:
            nvml.nvmlShutdown()
            raise
        for i in chosen:
            try:
                lock = _GpuLock(self.lock_dir, uuids[i])
            except UnsafeLockError:
                for gpu in self.gpus:
                    gpu.lock.release()
                nvml.nvmlShutdown()
                raise
            except OSError:
                elsewhere.append(uuids[i])
                continue
            try:
                raw = float(nvml.nvmlDeviceGetTotalEnergyConsumption(handles[i]))  # mJ
                counter: Counter | None = Counter(scale=1e-3)
                assert counter is not None
                counter.update(raw)
                methods.add("cumulative energy counter")
            except Exception:
                counter = None
                methods.add("power sampled and integrated")
            self.gpus.append(_Gpu(uuids[i], handles[i], counter, lock))
        if not self.gpus and not elsewhere:
            nvml.nvmlShutdown()
            raise OSError("no NVIDIA GPU visible to this job")
        self.method = "NVML " + " and ".join(sorted(methods)) if methods else "NVML"
        if elsewhere:
            self.note = f"measured by another tracker on this node: {', '.join(elsewhere)}"

    def read(self) -> Reading:
        now = self.clock()
        power = 0.0
        for gpu in self.gpus:
            watts = float(self.nvml.nvmlDeviceGetPowerUsage(gpu.handle)) / 1000.0
            power += watts
            if gpu.counter is not None:
                raw = float(self.nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
                gpu.energy_j = gpu.counter.update(raw)
            else:
                if gpu.last_t is not None:
                    gpu.energy_j += watts * (now - gpu.last_t)
                gpu.last_t = now
        return Reading(
            self.name,
            self.method,
            energy_j=sum(g.energy_j for g in self.gpus),
            power_w=power,
            devices=len(self.gpus),
            note=self.note,
        )

    def close(self) -> None:
        for gpu in self.gpus:
            gpu.lock.release()
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _select(wanted: Sequence[str], uuids: Sequence[str]) -> list[int]:
    """Indices of the GPUs named in ``CUDA_VISIBLE_DEVICES``: an index, a (prefix of a) UUID,
    or a MIG device ``MIG-<gpu uuid>/...`` (counted as its whole parent GPU)."""
    chosen: list[int] = []
    for item in wanted:
        if item.isdigit():
            index = int(item)
            if index < len(uuids) and index not in chosen:
                chosen.append(index)
            continue
        token = item.removeprefix("MIG-").split("/", 1)[0]
        token = token if token.startswith("GPU-") else f"GPU-{token}"
        for i, uuid in enumerate(uuids):
            if uuid.startswith(token) and i not in chosen:
                chosen.append(i)
    return chosen


# --------------------------------------------------------------------------- replay


class ReplaySensor:
    """Plays back recorded values: each read takes the next item; a number is a raw counter
    value (turned into energy by a :class:`Counter`), an exception is raised as the sensor
    would raise it. After the last item the last reading repeats."""

    def __init__(
        self,
        values: Iterable[float | BaseException],
        name: str = "replay",
        method: str = "replayed counter",
        scale: float = 1.0,
        wrap: float | None = None,
    ) -> None:
        self.items = list(values)
        self.name, self.method = name, method
        self.counter = Counter(scale=scale, range=wrap)
        self._next = 0

    def read(self) -> Reading:
        item = self.items[min(self._next, len(self.items) - 1)]
        self._next += 1
        if isinstance(item, BaseException):
            raise item
        total = self.counter.update(float(item))
        note = ""
        if self.counter.wraps or self.counter.resets:
            note = f"{self.counter.wraps} wraps, {self.counter.resets} resets"
        return Reading(self.name, self.method, energy_j=total, note=note)

    def close(self) -> None:
        return None


class FailedSensor:
    """A sensor that could not start for a reason the user must see (not merely absent
    hardware): each read raises it, so every sample records the error."""

    def __init__(self, name: str, error: str) -> None:
        self.name, self.method, self.error = name, "not measured", error

    def read(self) -> Reading:
        raise OSError(self.error)

    def close(self) -> None:
        return None


class ReplayNvml:
    """NVML's functions answered from a recorded description of a node's GPUs (a JSON file:
    ``{"uuids": [...], "watts": 300}``): each GPU draws that power, so its energy counter (mJ)
    grows with the clock. For the simulated multi-node tests (no GPU on the machine), selected
    with ``AIBUDGET_NVML_REPLAY=file.json``; the method of every reading says it is a replay."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.monotonic) -> None:
        import json

        spec = json.loads(Path(path).read_text())
        self.uuids = [str(u) for u in spec["uuids"]]
        self.watts = float(spec.get("watts", 300.0))
        self.clock = clock
        self.start = clock()

    def nvmlInit(self) -> None:  # noqa: N802 - NVML's names
        return None

    def nvmlShutdown(self) -> None:  # noqa: N802
        return None

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.uuids)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetUUID(self, handle: int) -> str:  # noqa: N802
        return self.uuids[handle]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> float:  # noqa: N802
        return (self.clock() - self.start) * self.watts * 1000.0

    def nvmlDeviceGetPowerUsage(self, handle: int) -> float:  # noqa: N802
        return self.watts * 1000.0


def available_sensors(
    pid: int | None = None, lock_dir: Path | None = None, node_sensors: bool = True
) -> list[Sensor]:
    """The sensors this machine offers for the process tree of ``pid``: the process tree always;
    RAPL where readable, else the CPU model (``node_sensors``: this process measures the node's
    CPU, one per node); NVML where a GPU and the nvidia-ml-py package are present."""
    from aibudget import catalog

    process = ProcessSensor(pid)
    sensors: list[Sensor] = [process]
    if node_sensors:
        try:
            sensors.append(RaplSensor())
        except OSError:
            row = catalog.constant("cpu_w_per_core")
            sensors.append(CpuModelSensor(process, row.value, row.source_url))
    try:
        kwargs: dict[str, Any] = {} if lock_dir is None else {"lock_dir": lock_dir}
        replay = os.environ.get("AIBUDGET_NVML_REPLAY")
        if replay:
            kwargs["nvml"] = ReplayNvml(replay)
        sensor = NvmlSensor(**kwargs)
        if replay:
            sensor.method += " (replayed from " + Path(replay).name + ")"
        sensors.append(sensor)
    except UnsafeLockError as error:  # GPUs present, but their locks cannot be trusted
        sensors.append(FailedSensor("nvml", str(error)))
    except Exception:  # no GPU, or no nvidia-ml-py: nothing to measure
        pass
    return sensors


def elect_node_sampler(name: str, lock_dir: Path | None = None) -> Any | None:
    """Try to become the one process of job ``name`` on this node that measures the node's
    own sensors (CPU energy): the holder of a lock file beside the GPUs' locks. Returns the
    held lock (keep it while sampling; ``release()`` at the end), or None when another process
    of the job on this node holds it (or the lock directory cannot be trusted)."""
    directory = lock_dir or gpu_lock_dir()
    try:
        _private_dir(directory)
        return _GpuLock(directory, f"node-{name}")
    except OSError:
        return None
