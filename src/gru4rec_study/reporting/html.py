"""The report as one self-contained HTML page: tables, figures as base64 PNG, CSS inline.

The page loads nothing: no scripts, fonts, style sheets or images from anywhere else, so it
reads the same offline, attached to a mail or archived beside the run.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from gru4rec_study.reporting.formats import all_metrics, metric_rows, metric_value
from gru4rec_study.reporting.run_files import RunFiles

CAPTIONS = {
    "recall_at_k": "Recall@K for K = 1 up to the largest cutoff.",
    "mrr_at_k": "MRR@K for K = 1 up to the largest cutoff.",
    "models": "Every accuracy metric of every model; error bars: 95% bootstrap interval.",
    "training_loss": "Mean training loss per epoch.",
    "session_lengths": "Session lengths of the training and test data.",
    "item_popularity": "Item support against popularity rank (log-log).",
    "full_vs_sampled": "Full ranking against sampled evaluation; labels: sampled / full.",
    "accuracy_vs_time": "Accuracy at the largest cutoff against training time.",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1d2430; background: #f6f7f9; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; border-bottom: 1px solid #d8dce3;
  padding-bottom: 4px; }
p.meta { color: #5a6372; margin: 0 0 16px; font-size: 0.9rem; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 8px 14px; }
.card b { display: block; font-size: 1.15rem; }
.card span { color: #5a6372; font-size: 0.8rem; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #dde1e7; border-radius: 6px; }
table { border-collapse: collapse; font-size: 0.88rem; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceef2; text-align: right;
  white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef1f5; position: sticky; top: 0; }
td small { display: block; color: #6b7380; font-size: 0.75rem; }
td.best { font-weight: 700; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
  gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #dde1e7; border-radius: 6px;
  padding: 10px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: #5a6372; font-size: 0.85rem; margin-top: 6px; }
p.note, li { font-size: 0.88rem; }
code { background: #eef1f5; padding: 1px 4px; border-radius: 3px; font-size: 0.85em; }
"""


def _table(header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> str:
    """An HTML table; cells are HTML already (escape them before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = classes[i] if classes else [""] * len(row)
        cells = "".join(
            f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>"
            for v, c in zip(row, cls, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def results_html(results: dict[str, Any]) -> str:
    """Metrics as rows, models as columns; interval under each value; best of a row in bold."""
    models = list(results["models"])
    accuracy = set(metric_rows(results["cutoffs"]))
    rows, classes = [], []
    for metric in all_metrics(results):
        entries = [results["models"][m] for m in models]
        values = [metric_value(e, metric) for e in entries]
        top = max((v for v in values if v is not None), default=None)
        cells = []
        for entry, value in zip(entries, values, strict=True):
            cell = _fmt(value)
            sd = (entry.get("metrics_sd") or {}).get(metric)
            cell += f" ± {sd:.4f}" if sd is not None else ""
            ci = (entry.get("metrics_ci95") or {}).get(metric)
            cell += f"<small>[{ci[0]:.4f}, {ci[1]:.4f}]</small>" if ci else ""
            cells.append(cell)
        rows.append([escape(metric), *cells])
        best = ["best" if metric in accuracy and v is not None and v == top else "" for v in values]
        classes.append(["", *best])
    return _table(["Metric", *map(escape, models)], rows, classes)


def significance_html(results: dict[str, Any]) -> str | None:
    tests = results.get("significance") or []
    if not tests:
        return None
    header = [
        "Model A",
        "Model B",
        "Metric",
        "A − B",
        "p (paired t)",
        "p (t, Holm)",
        "p (Wilcoxon)",
        "Holm p &lt; 0.05",
    ]
    rows = [
        [
            escape(t["model_a"]),
            escape(t["model_b"]),
            escape(t["metric"]),
            _fmt(t["mean_difference"]),
            _p(t.get("t_test_p")),
            _p(t.get("t_test_p_holm")),
            _p(t.get("wilcoxon_p")),
            "yes" if t["significant"] else "no",
        ]
        for t in tests
    ]
    return _table(header, rows)


def _p(p: float | None) -> str:
    return "n/a" if p is None else "&lt; 1e-300" if p == 0 else f"{p:.3g}"


def sampled_html(results: dict[str, Any]) -> str | None:
    comparison = results.get("sampled_comparison")
    if not comparison:
        return None
    metrics = list(comparison["orders"])
    header = ["Model"] + [f"{escape(m)} {k}" for m in metrics for k in ("full", "sampled", "ratio")]
    rows = []
    for model, values in comparison["models"].items():
        cells = [escape(model)]
        for metric in metrics:
            v = values[metric]
            cells += [_fmt(v["full"]), _fmt(v["sampled"]), _fmt(v["ratio"], 2)]
        rows.append(cells)
    orders = "".join(
        f"<li>{escape(metric)}: the order {'changes' if o['ordering_changes'] else 'stays'}"
        f" (full: {escape(' > '.join(o['full']))}; sampled: {escape(' > '.join(o['sampled']))})"
        "</li>"
        for metric, o in comparison["orders"].items()
    )
    note = (
        f'<p class="note">{comparison["n_negatives"]} {escape(comparison["distribution"])}'
        " negatives per event.</p>"
    )
    return note + _table(header, rows) + f"<ul>{orders}</ul>"


def timing_html(results: dict[str, Any]) -> str:
    rows = [
        [escape(m), _fmt(e.get("train_seconds"), 3), _fmt(e.get("eval_seconds"), 3)]
        for m, e in results["models"].items()
    ]
    return _table(["Model", "training (s)", "evaluation (s)"], rows)


def _cards(run: RunFiles) -> str:
    r, train, test = run.results, run.data.get("train") or {}, run.data.get("test") or {}
    cards = [
        (r["n_events"], "test events (predicted)"),
        (r.get("n_test_sessions", test.get("n_sessions", "n/a")), "test sessions"),
        (train.get("n_sessions", "n/a"), "training sessions"),
        (train.get("n_events", "n/a"), "training events"),
        (train.get("n_items", "n/a"), "items"),
        (r["tie_policy"], "tie policy"),
        (", ".join(map(str, r["cutoffs"])), "cutoffs"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{escape(str(v))}</b><span>{escape(t)}</span></div>'
            for v, t in cards
        )
        + "</div>"
    )


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = escape(CAPTIONS.get(path.stem, path.stem))
    return (
        f'<figure id="fig-{escape(path.stem)}"><img alt="{escape(path.stem)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'
    )


def _provenance(run: RunFiles) -> str:
    env = run.environment
    git = env.get("git") or {}
    items = [f"Command: <code>{escape(run.command or 'n/a')}</code>"]
    if git:
        items.append(
            f"Git: <code>{escape(str(git.get('commit', 'n/a')))}</code>"
            + (" (uncommitted changes)" if git.get("uncommitted_changes") else "")
        )
    versions = env.get("versions") or {}
    if versions:
        items.append(
            "Versions: " + ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in versions.items())
        )
    if env.get("started"):
        items.append(f"Started: {escape(str(env['started']))}")
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


DATA_COLUMNS = {
    "n_sessions": "sessions",
    "n_events": "events",
    "n_prediction_events": "next-item events",
    "n_items": "items",
    "mean_session_length": "mean length",
    "max_session_length": "longest",
}


def data_html(data: dict[str, Any]) -> str | None:
    """Sizes of train and test, and what encoding the test data removed."""
    parts = [p for p in ("train", "test") if data.get(p)]
    if not parts:
        return None
    rows = [[p] + [_count(data[p].get(k)) for k in DATA_COLUMNS] for p in parts]
    html = _table(["Part", *DATA_COLUMNS.values()], rows)
    html += _filter_and_split_notes(data)
    removed = data.get("test_encoding")
    if removed:
        html += (
            f'<p class="note">Test data: {removed["n_events_in"]} events in'
            f" {removed['n_sessions_in']} sessions read; removed"
            f" {removed['n_unknown_item_events']} events with items unknown to training, then"
            f" {removed['n_short_sessions']} sessions ({removed['n_short_session_events']}"
            " events) shorter than two events.</p>"
        )
    return html


def _filter_and_split_notes(data: dict[str, Any]) -> str:
    """What the experiment's own filters and split removed (runs on ``data.events``)."""
    notes = []
    for step in data.get("filters") or []:
        notes.append(
            f"Filter {escape(str(step['step']))}: removed {step['events_removed']} events,"
            f" {step['sessions_removed']} sessions, {step['items_removed']} items;"
            f" {step['events_left']} events left."
        )
    split = data.get("split")
    if split:
        notes.append(
            f"Split (rule {escape(str(split['rule']))}): {split['n_train_sessions']} training"
            f" sessions ({split['n_train_events']} events), {split['n_test_sessions']} test"
            f" sessions ({split['n_test_events']} events); removed"
            f" {split['n_train_events_after_split_time']} training events after the split time"
            f" and {split['n_train_sessions_too_short_after_truncation']} training sessions"
            f" left too short, {split['n_test_events_unknown_item']} test events with items"
            f" unknown to training and {split['n_test_sessions_too_short']} test sessions"
            f" ({split['n_test_events_in_short_sessions']} events) shorter than two events."
        )
    return "".join(f'<p class="note">{note}</p>' for note in notes)


def _count(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "n/a" if value is None else escape(str(value))


def report_html(run: RunFiles, figures: list[Path]) -> str:
    """The whole page; ``figures`` are the PNG files to embed, in order."""
    r = run.results
    sections = [
        (
            "Results",
            results_html(r) + '<p class="note">Full ranking over all training items;'
            " in small type the 95% bootstrap interval over sessions where the run has one.</p>",
        ),
        ("Paired significance tests (per-session means)", significance_html(r)),
        ("Full ranking against sampled evaluation", sampled_html(r)),
        ("Time per model", timing_html(r)),
        ("Data", data_html(run.data)),
        (
            "Figures",
            '<div class="figures">' + "".join(map(_figure, figures)) + "</div>"
            if figures
            else None,
        ),
        ("Provenance", _provenance(run)),
    ]
    body = "".join(f"<section><h2>{escape(t)}</h2>{s}</section>" for t, s in sections if s)
    title = escape(f"Report of {r.get('experiment', run.path.name)}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{title}</h1><p class="meta">Run directory <code>{escape(run.path.name)}</code>'
        f"</p>{_cards(run)}{body}</main></body></html>\n"
    )
