"""``auralab train RECIPE [--set key=value ...] [--run-dir DIR] [--resume DIR]``."""

from pathlib import Path

from auralab.config import add_set_argument, load_config, read_recipe
from auralab.errors import ConfigError


def _tasks():
    # task name -> (config class, task class); imported lazily so `auralab --help` stays fast
    from auralab.classify.config import ClassifyConfig
    from auralab.classify.task import ClassifyTask
    from auralab.enhance.config import EnhanceConfig
    from auralab.enhance.task import EnhanceTask
    from auralab.eq.config import EqConfig
    from auralab.eq.task import EqTask

    return {
        "enhance": (EnhanceConfig, EnhanceTask),
        "eq": (EqConfig, EqTask),
        "classify": (ClassifyConfig, ClassifyTask),
    }


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a recipe TOML",
        description="Train a model. The resolved config, metrics.jsonl, "
        "training_curves.png and checkpoints go to runs/<name>/.",
    )
    p.add_argument("recipe", nargs="?", type=Path, help="recipe TOML (see recipes/)")
    add_set_argument(p, "trainer.max_steps=50")
    p.add_argument("--run-dir", type=Path, help="run folder (default runs/<name>)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--no-check", action="store_true", help="skip the data integrity check")
    p.set_defaults(run=run)


def run(args) -> int:
    from auralab.train import Trainer

    if args.resume:
        recipe, run_dir = args.resume / "config.toml", args.resume
    elif args.recipe:
        recipe, run_dir = args.recipe, args.run_dir
    else:
        raise ConfigError("train: give a RECIPE or --resume RUN_DIR")
    if not recipe.is_file():
        raise ConfigError(f"{recipe}: no such recipe file")
    task_name = read_recipe(recipe).get("task", "enhance")
    tasks = _tasks()
    if task_name not in tasks:
        raise ConfigError(f"{recipe}: task={task_name!r}; known tasks: {', '.join(tasks)}")
    config_cls, task_cls = tasks[task_name]
    config = load_config(config_cls, recipe, args.overrides)
    run_dir = run_dir or Path("runs") / config.name
    trainer = Trainer(
        task_cls(config, check=not args.no_check), config, run_dir, resume=bool(args.resume)
    )
    state = trainer.fit()
    best = state["best"]
    print(
        f"done: step {state['step']}, best {config.trainer.early_stop_metric} = "
        f"{best if best is not None else 'n/a'} at step {state['best_step']}; run in {run_dir}/"
    )
    return 0
