"""The proposal gate's verdicts as stored with each model version, and what they say.

Kept in the store, without torch, so ``specimask models`` and the GUI can say which
proposals are in use and why without loading the network stack; ``core.loop.gate``
makes the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecimaskError
from .project import Project
from .registry import list_models

GATE_KEY = "gate"  # the verdict's key in the version's metrics


@dataclass(frozen=True)
class Verdict:
    """A candidate version against the proposal source it would replace."""

    candidate: str
    current: str                 # a version, or "cold start (METHOD)"
    candidate_dice: float | None
    current_dice: float | None
    images: int                  # held-out verified masks both were measured on

    @property
    def better(self) -> bool:
        return (self.images > 0 and self.candidate_dice is not None
                and (self.current_dice is None or self.candidate_dice > self.current_dice))

    @property
    def reason(self) -> str:
        """One sentence for the GUI and the CLI."""
        if self.images == 0:
            return (f"{self.candidate} not compared: no held-out verified masks (role val); "
                    f"{self.current} kept")
        return (f"{self.candidate} {'beat' if self.better else 'did not beat'} "
                f"{self.current}: mean Dice {self.candidate_dice:.3f} against "
                f"{self.current_dice:.3f} on {self.images} held-out verified mask(s)")

    @classmethod
    def from_dict(cls, d: dict) -> Verdict:
        return cls(**{k: d[k] for k in ("candidate", "current", "candidate_dice",
                                          "current_dice", "images")})


def cold_start_name(project: Project) -> str:
    method = project.settings.coldstart.method
    return "cold start (its method not chosen yet)" if method == "auto" else \
        f"cold start ({method})"


def proposal_source(project: Project) -> str:
    """Which proposals Annotate shows for newly queued images, and why."""
    models = list_models(project)
    active = next((m for m in models if m["active"]), None)
    if active is not None:
        gate = active["metrics"].get(GATE_KEY)
        found = Verdict.from_dict(gate).reason if gate else None
        by = active.get("activated_by") or ("gate" if found else "hand")
        if by == "gate" and found:
            why = found
        else:
            how = "activated by hand" if by == "hand" else "activated as trained (rule: always)"
            why = f"{how}; the gate had found: {found}" if found else how
        return f"proposals from model {active['version']} ({why})"
    judged = [m for m in models if m["metrics"].get(GATE_KEY)]
    if judged:
        why = Verdict.from_dict(judged[-1]["metrics"][GATE_KEY]).reason
        return f"proposals from {cold_start_name(project)} ({why})"
    return f"proposals from {cold_start_name(project)} (no model trained yet)"


def no_active_model(project: Project) -> SpecimaskError:
    """What to say when a command needs a model and none is active: train one, or (when
    some were trained but none is active) which they are, why each was kept out, and
    how to use one anyway."""
    usable = [m for m in list_models(project)
              if m["status"] in ("ready", "stopped") and not m["removed"]]
    if not usable:
        return SpecimaskError(f"{project.root}: no trained model yet; run `specimask train`")
    why = []
    for m in usable:
        gate = m["metrics"].get(GATE_KEY)
        why.append(f"{m['version']} ({Verdict.from_dict(gate).reason})" if gate
                   else f"{m['version']} (not judged)")
    best = max(usable, key=lambda m: (m["metrics"].get(GATE_KEY) or {}).get(
        "candidate_dice") or m["metrics"].get("best_val_dice") or 0.0)["version"]
    return SpecimaskError(
        f"{project.root}: no model is active; trained but not active: {'; '.join(why)}. "
        f"Use one anyway with --model {best}, or make it the active one with "
        f"`specimask activate {project.root} {best}`")
