"""Write a small LeRobotDataset v3.0 with LeRobot itself, for Praxis's reader to read back.

Usage (see read_with_lerobot.py for the venv setup):

    HF_HUB_OFFLINE=1 /root/lerobot-venv/bin/python tests/python/write_with_lerobot.py OUT_ROOT CAMERA

CAMERA is `image` (PNG in Parquet), `libsvtav1` (LeRobot's default AV1 video) or `h264`.
Two episodes of 6 and 5 frames at 10 fps, 48x64 frames of flat colours that change every frame,
3 state and 2 action values that encode the frame's global index. The values are a pure
function of the global index g: state = [g, frame, episode], action = [g / 2, -g],
colour = (20 g, 100, 200 - 10 g). Prints OUT_ROOT.
"""

import shutil
import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main() -> None:
    root, camera = Path(sys.argv[1]), sys.argv[2]
    shutil.rmtree(root, ignore_errors=True)
    use_videos = camera != "image"
    height, width = 48, 64
    features = {
        "observation.state": {"dtype": "float32", "shape": (3,), "names": ["g", "frame", "episode"]},
        "action": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
        "observation.images.front": {
            "dtype": "video" if use_videos else "image",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        },
    }
    kwargs = {"vcodec": camera} if use_videos else {}
    ds = LeRobotDataset.create(
        repo_id="praxis/local", fps=10, features=features, root=root, use_videos=use_videos, **kwargs
    )
    g = 0
    for episode, length in enumerate([6, 5]):
        for frame in range(length):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = 20 * g
            img[..., 1] = 100
            img[..., 2] = 200 - 10 * g
            ds.add_frame(
                {
                    "observation.state": np.array([g, frame, episode], np.float32),
                    "action": np.array([g * 0.5, -g], np.float32),
                    "observation.images.front": img,
                    "task": f"task {episode}",
                }
            )
            g += 1
        ds.save_episode()
    ds.finalize()
    print(root)


if __name__ == "__main__":
    main()
