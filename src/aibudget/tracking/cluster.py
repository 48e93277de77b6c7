"""Where a tracked process sits in a multi-process job: the scheduler's job id, its node and
rank, read from the variables Slurm, torchrun and MPI set.

=========  ===========================================================================
Slurm      ``SLURM_JOB_ID`` (and ``SLURM_STEP_ID``), ``SLURM_NODEID``, ``SLURM_PROCID``,
           ``SLURM_LOCALID``, ``SLURM_NTASKS``, ``SLURM_NTASKS_PER_NODE``
torchrun   ``TORCHELASTIC_RUN_ID``, ``GROUP_RANK`` (the node), ``RANK``, ``LOCAL_RANK``,
           ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``
MPI        ``OMPI_COMM_WORLD_RANK``/``_LOCAL_RANK``/``_SIZE`` (Open MPI), ``PMI_RANK``/``PMI_SIZE``
           (MPICH, Intel MPI), with ``AIBUDGET_JOB_ID`` to name the job (MPI does not)
any        ``AIBUDGET_JOB_ID`` (and ``AIBUDGET_NODE``, default the host name): one tracker per
           node around a launcher (``torchrun``), all joined in one run
=========  ===========================================================================

Slurm's job id wins where several are set (``srun torchrun ...`` sets both). Every process of
one job gets the same run id (``slurm-<job>[.<step>]``, ``torchrun-<run id>``), so the trackers
of all its nodes record one run; each writes its samples under its own stream
(``<node>/rank<rank>``), so the sequence numbers of two processes never collide. Only rank 0
reports progress unless told otherwise (every rank sees the same tokens: counting them on every
rank would multiply them).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from aibudget._record import record

__all__ = ["Placement", "placement"]


@record
class Placement:
    """One process's place in its job (everything None for a job of one process)."""

    scheduler: str | None = None  # "slurm", "torchrun", "mpi"
    job_id: str | None = None
    node: str = ""
    rank: int | None = None
    local_rank: int | None = None
    world_size: int | None = None
    ranks_per_node: int | None = None
    host: str = ""

    @property
    def run_id(self) -> str | None:
        """The run id every process of the job shares (None: a job of one process)."""
        if self.scheduler is None or self.job_id is None:
            return None
        return f"{self.scheduler}-{self.job_id}"

    @property
    def stream(self) -> str:
        """This process's samples' key within the run: its node and rank."""
        if self.rank is None:
            return self.node
        return f"{self.node}/rank{self.rank}"

    @property
    def reports_progress(self) -> bool:
        """Rank 0 alone reports tokens and steps (ranks all see the same)."""
        return self.rank in (None, 0)

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


def _int(environ: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            try:
                return int(value.split("(")[0].split(",")[0])  # "8(x2)" in Slurm's notation
            except ValueError:
                continue
    return None


def placement(environ: Mapping[str, str] | None = None) -> Placement:
    """This process's placement, from the environment."""
    env = os.environ if environ is None else environ
    host = socket.gethostname()
    if env.get("SLURM_JOB_ID"):
        job = env["SLURM_JOB_ID"]
        step = env.get("SLURM_STEP_ID", "").strip()
        node = _int(env, "SLURM_NODEID")
        return Placement(
            scheduler="slurm",
            job_id=f"{job}.{step}" if step and step.isdigit() else job,
            node=f"node{node}" if node is not None else host,
            rank=_int(env, "SLURM_PROCID", "RANK"),
            local_rank=_int(env, "SLURM_LOCALID", "LOCAL_RANK"),
            world_size=_int(env, "SLURM_NTASKS", "WORLD_SIZE"),
            ranks_per_node=_int(env, "SLURM_NTASKS_PER_NODE", "LOCAL_WORLD_SIZE"),
            host=host,
        )
    if env.get("TORCHELASTIC_RUN_ID") or env.get("GROUP_RANK"):
        node = _int(env, "GROUP_RANK")
        return Placement(
            scheduler="torchrun",
            job_id=env.get("TORCHELASTIC_RUN_ID") or None,
            node=f"node{node}" if node is not None else host,
            rank=_int(env, "RANK"),
            local_rank=_int(env, "LOCAL_RANK"),
            world_size=_int(env, "WORLD_SIZE"),
            ranks_per_node=_int(env, "LOCAL_WORLD_SIZE"),
            host=host,
        )
    rank = _int(env, "OMPI_COMM_WORLD_RANK", "PMI_RANK")
    if rank is not None:
        return Placement(
            scheduler="mpi",
            job_id=env.get("AIBUDGET_JOB_ID") or None,  # MPI names no job: give one to join
            node=host,
            rank=rank,
            local_rank=_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"),
            world_size=_int(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
            host=host,
        )
    if env.get("AIBUDGET_JOB_ID"):  # a launcher's tracker on each node (torchrun, a script)
        return Placement(
            scheduler="job", job_id=env["AIBUDGET_JOB_ID"], node=env.get("AIBUDGET_NODE") or host,
            host=host,
        )  # fmt: skip
    return Placement(host=host)
