"""SynthPrivacy: a generated action-recognition benchmark with known privacy attributes and regions.

Rendering is [`render`], writing the files [`write`], reading them back [`read`].

Every video shows one *actor* whose body motion defines the action, over a textured background that
moves (a camera pan). Five binary privacy attributes are drawn independently of the action and of
each other, and each is carried by a visible cue:

| attribute      | 1                                      | 0                                 |
|----------------|----------------------------------------|-----------------------------------|
| `skin_color`   | dark skin (head, arms, bare torso)     | light skin                        |
| `face`         | eyes and mouth drawn on the head       | plain head                        |
| `gender`       | long hair falling to the shoulders     | short hair (a cap on the head)    |
| `nudity`       | bare torso (skin coloured)             | clothed torso (a coloured shirt)  |
| `relationship` | a second, standing person is present   | the actor is alone                |

The second person (the *companion*) shares the actor's skin tone and is always clothed, short-haired
and without facial features, so it carries the `relationship` cue only. The actions
(`SYNTH_ACTIONS`) are `walk_left`, `walk_right`, `jump`, `wave`, `squat` and `spin`; telling them
apart needs time (walking left and walking right look the same in any single frame). Privacy lives
on the head and torso, the action mostly in the limbs and the body position, so that some tubelets
carry only one of the two and some carry both. Nuisances drawn per video: position, size, speed,
phase and rhythm of the motion, clothes and hair colours, skin shade within its group, and the
background texture and its motion.

Files written by `generate_synth_privacy(output_dir, ...)`:

- `videos/<action>/<video_id>.mp4`: H.264 (yuv420p) videos of `num_frames` frames of
  `image_size x image_size` pixels at `fps` frames per second.
- `manifest.jsonl`: one JSON object per line and per video, with the keys
  `video_id` (str), `path` (the mp4 path relative to the manifest's folder), `action` (str),
  `label` (int, index into `SYNTH_ACTIONS`), the five attributes `skin_color`, `face`, `gender`,
  `nudity`, `relationship` (0 or 1), `split` (`"train"`, `"val"` or `"test"`, stratified by
  action), `regions` (the region file's path relative to the manifest's folder), `num_frames`,
  `height`, `width` and `fps`.
- `regions/<video_id>.npz`: ground-truth regions, a `numpy.savez_compressed` archive of boolean
  arrays of shape `(num_frames, height, width)` (frame-aligned with the video), one per key:
  `actor` (every visible pixel of the actor), and one per privacy attribute, marking the visible
  pixels where that attribute's cue is shown, whatever the attribute's value:
  `skin_color` (the actor's visible skin: head, arms and, when bare, torso), `face` (the face area
  of the head, where eyes and mouth are or would be drawn), `gender` (where long hair is or would
  be visible, plus the hair cap), `nudity` (the visible torso) and `relationship` (the visible
  companion; empty when there is none). Read it with `read_synth_regions` (or `read_region_file`).
- `synth_config.json`: the generator settings (class and attribute names included).

The same seed and settings give the same manifest bytes and the same decoded frames.

Defaults and why: 32-frame videos at 64x64 (a 16-frame clip with stride 2 covers a whole video), so
that an end-to-end benchmark trains its models on two CPU cores in minutes; `LARGE_IMAGE_SIZE` (112)
for the large setting. Attributes are balanced by default (`BALANCED_PREVALENCE`): chance cMAP is
then about 0.5, the widest room between a blind attacker and a perfect one, and every attribute has
enough positives in a small test split; `VP_UCF101_PREVALENCE` gives VP-UCF101's imbalance (chance
cMAP about 0.58). The actor is large (about two thirds of the frame height) with thick limbs, and the
background pans slowly (`BACKGROUND_SPEED`) at moderate contrast (`BACKGROUND_CONTRAST`): with a smaller
actor and a background moving as fast as the actor, small models trained from scratch on a few
hundred clips did not learn the actions (`benchmarks/calibrate_synth.py` measures what they learn).

For evaluation, `load_synth_clips` decodes each video of a split once into a `ClipSet` of uint8
tensors, so that many fresh models can be trained without decoding again.
"""

from .read import (
    CONFIG_NAME,
    MANIFEST_NAME,
    ClipSet,
    load_synth_clips,
    privacy_region,
    read_region_file,
    read_synth_manifest,
    read_synth_regions,
    synth_region_files,
)
from .render import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_NUM_FRAMES,
    LARGE_IMAGE_SIZE,
    REGION_NAMES,
    SYNTH_ACTIONS,
    SynthVideo,
    render_synth_video,
)
from .write import (
    BALANCED_PREVALENCE,
    DEFAULT_CRF,
    DEFAULT_FPS,
    GENERATOR_VERSION,
    VP_UCF101_PREVALENCE,
    generate_synth_privacy,
    sample_synth_labels,
)

__all__ = [
    "BALANCED_PREVALENCE",
    "CONFIG_NAME",
    "DEFAULT_CRF",
    "DEFAULT_FPS",
    "DEFAULT_IMAGE_SIZE",
    "DEFAULT_NUM_FRAMES",
    "GENERATOR_VERSION",
    "LARGE_IMAGE_SIZE",
    "MANIFEST_NAME",
    "REGION_NAMES",
    "SYNTH_ACTIONS",
    "VP_UCF101_PREVALENCE",
    "ClipSet",
    "SynthVideo",
    "generate_synth_privacy",
    "load_synth_clips",
    "privacy_region",
    "read_region_file",
    "read_synth_manifest",
    "read_synth_regions",
    "render_synth_video",
    "sample_synth_labels",
    "synth_region_files",
]
