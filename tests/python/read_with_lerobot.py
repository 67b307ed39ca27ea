"""Load a LeRobotDataset v3.0 directory with LeRobot itself and print a JSON summary.

Optional cross-check that datasets written by Praxis are readable by the reference
implementation. Nothing here touches the Hugging Face hub.

Setup (once; tested with lerobot 0.4.4, CPython 3.11):

    python3 -m venv /root/lerobot-venv
    /root/lerobot-venv/bin/pip install lerobot av

Run directly:

    HF_HUB_OFFLINE=1 /root/lerobot-venv/bin/python tests/python/read_with_lerobot.py DATASET_ROOT

or through the Rust tests, which skip this check unless the variable is set:

    PRAXIS_LEROBOT_PYTHON=/root/lerobot-venv/bin/python cargo test ...

Prints ONE JSON object on stdout: num_episodes, num_frames, fps, codebase_version,
episode_bounds ([dataset_from_index, dataset_to_index] per episode) and items
(global indices 0, 1, each episode's first frame and the last frame). Any
failure: message on stderr, exit status 1.
"""

import contextlib
import json
import os
import sys
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def scalar(v):
    return v.item() if hasattr(v, "item") else v


def floats(v):
    return [float(x) for x in v.reshape(-1).tolist()]


def main(root):
    try:  # lerobot >= 0.4 (codebase v3.0)
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
    except ImportError:  # older layout
        from lerobot.common.datasets.lerobot_dataset import LeRobotDataset

    # A missing root would be created (and fetched from the hub): fail first.
    if not os.path.isfile(os.path.join(root, "meta", "info.json")):
        raise FileNotFoundError(f"no meta/info.json under {root}")
    # torchcodec is found but often cannot load (it needs system FFmpeg libs),
    # so force the PyAV backend. With root= and every file present, LeRobot
    # reads only local files; a missing file makes it try the hub, which fails
    # under HF_HUB_OFFLINE=1.
    ds = LeRobotDataset(repo_id="praxis/local", root=root, video_backend="pyav")
    meta = ds.meta
    cams = [k for k, ft in meta.features.items() if ft["dtype"] in ("image", "video")]
    cam = cams[0] if cams else None

    eps = meta.episodes
    bounds = [[int(a), int(b)] for a, b in zip(eps["dataset_from_index"], eps["dataset_to_index"])]
    n = len(ds)
    wanted = sorted({i for i in [0, 1] + [a for a, _ in bounds] + [n - 1] if 0 <= i < n})

    items = []
    for i in wanted:
        it = ds[i]
        d = {
            "index": int(scalar(it["index"])),
            "episode_index": int(scalar(it["episode_index"])),
            "frame_index": int(scalar(it["frame_index"])),
            "timestamp": float(scalar(it["timestamp"])),
            "task": it["task"],
            "state": floats(it["observation.state"]),
            "action": floats(it["action"]),
        }
        if cam is not None:
            img = it[cam]  # float32 CHW in [0, 1]
            d["image_shape"] = list(img.shape)
            d["image_mean_rgb"] = [float(img[c].mean()) * 255.0 for c in range(img.shape[0])]
        items.append(d)

    out = {
        "num_episodes": int(ds.num_episodes),
        "num_frames": int(ds.num_frames),
        "fps": int(ds.fps),
        "codebase_version": meta.info["codebase_version"],
        "camera_key": cam,
        "video_backend": ds.video_backend if cam in meta.video_keys else None,
        "episode_bounds": bounds,
        "items": items,
    }
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} DATASET_ROOT", file=sys.stderr)
        sys.exit(2)
    try:
        # Keep stdout for the JSON alone: anything LeRobot prints goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            out = main(sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - report everything, exit 1
        traceback.print_exc(file=sys.stderr)
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
