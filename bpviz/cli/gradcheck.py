"""bpviz gradcheck: compare backprop with central differences, in float64.

Prints, per parameter, the largest error |g - n| / max(|g|, |n|, floor)
between the backprop gradient g and the central difference n (step h = 1e-6)
on one mini-batch; exits 1 if any is at or above --tol. The floor,
64*eps*max(|C|, 1e-6) / (h*tol) with C the mini-batch cost and eps the float64
machine epsilon, is the size below which rounding noise keeps central
differences from a relative check: an entry larger than the floor is held to
its plain relative error, a smaller one to an absolute error of tol*floor.
The floor shrinks with the cost, so on a trained network a relative error of
100*tol in any entry above floor/100 is still reported. --broken drops f'(z)
from the backward pass on purpose, to show what a failing check looks like.

Examples:

    bpviz gradcheck --preset gradcheck
    bpviz gradcheck --preset tied --batch 16
    bpviz gradcheck --preset gradcheck --broken
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from .common import add_model_options, build_model, fail


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "gradcheck",
        help="check backprop against finite differences",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(p, dtype="float64")
    g = p.add_argument_group("check")
    g.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        metavar="X",
        help="largest error that passes (default 1e-6); it also sets the floor",
    )
    g.add_argument(
        "--steps",
        type=int,
        default=0,
        metavar="N",
        help="train N steps first, so the check runs on trained weights",
    )
    g.add_argument(
        "--max-entries",
        type=int,
        default=2000,
        metavar="N",
        help="check at most N random entries of each parameter (default 2000)",
    )
    g.add_argument(
        "--broken",
        action="store_true",
        help="drop f'(z) in the backward pass on purpose (a teaching bug)",
    )
    g.add_argument("--json", action="store_true", help="print the results as one JSON line")
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.backend import blas_threads
    from ..engine.gradcheck import gradcheck

    if not (math.isfinite(args.tol) and args.tol > 0):
        return fail(f"--tol must be a number > 0, got {args.tol}")
    if args.steps < 0:
        return fail(f"--steps must be 0 or more, got {args.steps}")
    if args.max_entries < 1:
        return fail(f"--max-entries must be 1 or more, got {args.max_entries}")
    if args.preset is None and args.spec is None and args.session is None and args.data is None:
        args.preset = "gradcheck"
    net, trainer, data, preset = build_model(args)
    with blas_threads(1):
        for _ in trainer.run(steps=args.steps):
            pass
        idx = trainer.next_batch()
        ds = trainer.data
        res = gradcheck(
            net,
            ds.X_train[idx],
            ds.y_train[idx],
            max_entries=args.max_entries,
            seed=trainer.config.seed,
            broken=args.broken,
            tol=args.tol,
        )
    errors = res.max_rel_error
    ok = {k: v < args.tol for k, v in errors.items()}
    passed = all(ok.values())
    if args.json:
        print(
            json.dumps(
                {
                    "passed": passed,
                    "tol": args.tol,
                    "worst": res.worst,
                    "floor": res.floor,
                    "broken": args.broken,
                    "batch_size": int(len(idx)),
                    "network": net.spec.describe(),
                    "parameters": [
                        {
                            "name": k,
                            "shape": list(res.analytic[k].shape),
                            "checked": int(res.checked[k].sum()),
                            "max_rel_error": errors[k],
                            "ok": ok[k],
                        }
                        for k in errors
                    ],
                }
            )
        )
        return 0 if passed else 1
    print(
        f"{net.spec.describe()}, K = {len(idx)} samples, float64"
        + (", BROKEN backward pass (f'(z) dropped)" if args.broken else "")
    )
    rows = [("parameter", "shape", "checked", "max rel error", "")]
    for k, err in errors.items():
        shape = "x".join(str(s) for s in res.analytic[k].shape)
        rows.append(
            (k, shape, str(int(res.checked[k].sum())), f"{err:.2e}", "ok" if ok[k] else "FAIL")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print(
            "  ".join(
                c.ljust(w) if i in (0, 1, 4) else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    verdict = "passed" if passed else "FAILED"
    print(f"{verdict}: worst error {res.worst:.2e}, tolerance {args.tol:g} "
          f"(relative above the floor {res.floor:.1e}, absolute/floor below)")
    return 0 if passed else 1
