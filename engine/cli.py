"""Headless command line: `python -m engine train|gradcheck|sweep|config-table ...` (docs/config.md).

Exit codes: 0 training finished (done / stopped_early), gradient check not "likely a bug"
(difference < 1e-3), or sweep done; 1 gradient check verdict "likely a bug"; 2 usage, config,
sweep, data, --init-from or --dask error (message on stderr, no traceback); 3 training diverged
(NaN/inf) — the result JSON is still written, with the last finite parameters — or every trial
of a sweep diverged; 130 interrupted (a sweep writes its finished trials first).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from engine.config import TrainConfig, format_errors, load_config

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
GRADCHECK_EXAMPLES = 16


class CliError(Exception):
    """A user error: printed as 'error: ...' and exit code 2."""


def _read_json(path: str, what: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot read {what} {path}: {e.strerror or e}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"{what} {path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if not isinstance(obj, dict):
        raise CliError(f"{what} {path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _load(args) -> tuple[TrainConfig, object]:
    """Validated config (a CSV given with --data replaces the generated dataset) and the CSV data."""
    raw = _read_json(args.config, "config")
    try:
        config = load_config(raw)
    except ValidationError as e:
        raise CliError("invalid config " + args.config + ":\n  " + "\n  ".join(format_errors(e))) from None
    csv = None
    if args.data:
        from engine import data

        try:
            csv = data.load_csv(Path(args.data))
        except (ValueError, OSError) as e:
            raise CliError(f"{args.data}: {e}") from None
        if config.data.name != "csv":
            config = config.model_copy(update={"data": config.data.model_copy(update={"name": "csv"})})
    elif config.data.name == "csv":
        raise CliError("data.name is 'csv': give the file with --data FILE.csv")
    return config, csv


def _make_trainer(config: TrainConfig, csv, init_from: Optional[str] = None):
    from engine.results import parameters_from_result
    from engine.trainer import Trainer

    try:
        trainer = Trainer(config, csv=csv)
    except ValueError as e:
        raise CliError(str(e)) from None
    if init_from:
        try:
            trainer.load_parameters(parameters_from_result(_read_json(init_from, "--init-from result")))
        except ValueError as e:
            raise CliError(f"--init-from {init_from}: {e}") from None
    return trainer


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4g}"


def _progress_printer(stream):
    def show(info: dict) -> None:
        line = (f"epoch {info['epoch']}/{info['epochs']}  cost {_fmt(info['train_cost'])}  "
                f"dev {_fmt(info['dev_cost'])}  lr {_fmt(info['learning_rate'])}")
        stream.write("\r" + line.ljust(70))
        stream.flush()
    return show


def _write(text: str, out: Optional[str]) -> None:
    """The JSON text to the --out file, else to stdout."""
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as e:
            raise CliError(f"cannot write {out}: {e.strerror or e}") from None
    else:
        sys.stdout.write(text)


def cmd_train(args) -> int:
    from engine.epochs import early_stopping_message
    from engine.results import dumps

    config, csv = _load(args)
    trainer = _make_trainer(config, csv, args.init_from)
    trainer.run(progress=None if args.quiet else _progress_printer(sys.stderr), interval=0.1)
    if not args.quiet:
        sys.stderr.write("\n")
    _write(dumps(trainer.result()), args.out)
    if trainer.status == "diverged":
        print(f"diverged at iteration {trainer.diverged_at} (epoch {trainer.diverged_epoch}): the cost or a "
              f"parameter became NaN/inf; parameters kept from iteration {trainer.restored_iteration}. "
              "Lower the learning rate.", file=sys.stderr)
        return EXIT_DIVERGED
    if not args.quiet:
        print(f"{trainer.status}: {trainer.epoch} epochs, {trainer.iteration} iterations", file=sys.stderr)
        reason = early_stopping_message(trainer.early_stopping_info())
        if reason:
            print(reason, file=sys.stderr)
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    from engine.gradcheck import BUG, gradient_check

    config, csv = _load(args)
    trainer = _make_trainer(config, csv, args.init_from)
    if trainer.keep_probs is not None:
        print("note: dropout is on (regularization.keep_prob < 1); it makes J random, so gradient "
              "checking cannot work with it — checking with dropout switched off", file=sys.stderr)
    X, Y = trainer.sets["train"]
    k = min(args.examples, X.shape[trainer.example_axis])
    first = X[:k] if trainer.example_axis == 0 else X[:, :k]  # images (m, n_H, n_W, n_C): examples first
    check = gradient_check(trainer.network, first, Y[:, :k], l2=trainer.l2, l1=trainer.l1)
    print(f"relative difference: {check.difference:.3e}  ({k} examples, "
          f"{trainer.network.theta.size} parameters)")
    print(f"verdict: {check.verdict}")
    if check.message:
        print(check.message)
    return EXIT_CHECK_FAILED if check.verdict == BUG else EXIT_OK


def _sweep_spec(args):
    """The validated SweepSpec (--data switches the base to the CSV) and the CSV text."""
    from engine import sweep

    raw = _read_json(args.sweep, "sweep")
    csv_text = None
    if args.data:
        try:
            csv_text = Path(args.data).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise CliError(f"cannot read {args.data}: {getattr(e, 'strerror', None) or e}") from None
        try:
            sweep.load_csv_text(csv_text)
        except ValueError as e:
            raise CliError(f"{args.data}: {e}") from None
        if isinstance(raw.get("base"), dict):
            raw = {**raw, "base": sweep.csv_config(raw["base"], csv_text)}
    try:
        spec = sweep.parse_sweep(raw)
        if spec.base.get("data", {}).get("name") == "csv" and csv_text is None:
            raise CliError("base.data.name is 'csv': give the file with --data FILE.csv")
        sweep.check_sweep(spec, csv_text)
    except ValueError as e:
        raise CliError(f"invalid sweep {args.sweep}:\n  " + str(e).replace("\n", "\n  ")) from None
    return spec, csv_text


def _executor(args):
    from engine import sweep_exec

    if args.dask:
        return sweep_exec.dask_executor(args.dask)
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers {args.workers}: give at least 1")
    return sweep_exec.process_pool(args.workers)


def cmd_sweep(args) -> int:
    from engine import sweep, sweep_exec
    from engine.progress import SweepProgress

    spec, csv_text = _sweep_spec(args)
    cancel = threading.Event()
    progress = None if args.quiet else SweepProgress(spec.metric, sys.stderr)
    with contextlib.ExitStack() as stack:
        try:
            executor = stack.enter_context(_executor(args))
        except ImportError as e:
            raise CliError(str(e)) from None
        except OSError as e:  # includes TimeoutError
            raise CliError(f"--dask {args.dask}: cannot reach the scheduler: {e}") from None
        previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())  # Ctrl-C: cancel, keep the finished
        try:
            result = sweep.run_sweep(spec, executor, csv_text=csv_text, on_trial=progress, cancel=cancel)
        except sweep.SweepError as e:
            raise CliError(f"{args.sweep}: {e}") from None
        except BrokenExecutor as e:
            raise CliError(f"a worker process ended abruptly (out of memory?): {e}") from None
        except ImportError as e:  # unpickling run_trial on a Dask worker
            raise CliError(f"a worker cannot import the engine ({e}): install nn-playground on every Dask worker") from None
        finally:
            signal.signal(signal.SIGINT, previous)
            if progress is not None:
                progress.close()
        if result["status"] == "cancelled":
            sweep_exec.stop(executor)
    _write(sweep.dumps(result), args.out)
    done = len(result["trials"])
    if result["status"] == "cancelled":
        print(f"cancelled: {done} of {spec.total} trials finished (kept in the results)", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result["best"] is None:
        print(f"every one of the {done} trials diverged: lower the learning rates of the space", file=sys.stderr)
        return EXIT_DIVERGED
    if not args.quiet:
        best = result["best"]
        diverged = sum(e["status"] == "diverged" for e in result["trials"])
        print(f"done: {done} trials ({diverged} diverged); best {spec.metric} "
              f"{sweep.metric_value(best, spec.metric):.4g} at trial {best['trial']}: "
              + json.dumps(best["params"]), file=sys.stderr)
    return EXIT_OK


def cmd_config_table(args) -> int:
    from engine.configdoc import config_table

    print(config_table())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description="Train, gradient-check or hyperparameter-search an nn-playground config headless (docs/config.md).",
        epilog="exit codes: 0 done/stopped_early (gradcheck: difference < 1e-3; sweep: done), 1 gradcheck "
               "'likely a bug', "
               "2 usage/config/data error, 3 diverged (sweep: every trial), 130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train to config.epochs and write the result JSON")
    train.add_argument("config", help="TrainConfig JSON file")
    train.add_argument("--data", help="CSV file (x1..xn, label[, split]); replaces the generated dataset")
    train.add_argument("--init-from", help="result JSON whose parameters replace the initialization")
    train.add_argument("--out", help="write the result JSON here (default: stdout)")
    train.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    train.set_defaults(func=cmd_train)
    check = sub.add_parser("gradcheck", help="compare backprop with two-sided finite differences")
    check.add_argument("config")
    check.add_argument("--data")
    check.add_argument("--init-from", help="check at the parameters of this result JSON")
    check.add_argument("--examples", type=int, default=GRADCHECK_EXAMPLES,
                       help=f"training examples used (default {GRADCHECK_EXAMPLES})")
    check.set_defaults(func=cmd_gradcheck)
    sweep = sub.add_parser("sweep", help="hyperparameter search: random trials on the right scale, "
                           "coarse to fine, in parallel (docs/config.md)")
    sweep.add_argument("sweep", help="SWEEP.json: base config, trials, seed, metric, space, refine")
    sweep.add_argument("--data", help="CSV file; replaces the base config's generated dataset")
    runner = sweep.add_mutually_exclusive_group()
    runner.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    runner.add_argument("--dask", metavar="ADDRESS",
                        help="run the trials on a Dask distributed scheduler, e.g. tcp://HOST:8786 "
                             "(needs the `sweep` extra)")
    sweep.add_argument("--out", help="write the results JSON here (default: stdout)")
    sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sweep.set_defaults(func=cmd_sweep)
    table = sub.add_parser("config-table", help="print the Markdown table of every config key")
    table.set_defaults(func=cmd_config_table)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
