"""SynthPrivacy: a generated action-recognition benchmark with known privacy attributes and regions.

Rendering is [`render`] (world 1, and the dispatch to the other worlds), [`world2`] (world 2) and [`drawing`] (what
the worlds draw with), writing the files [`write`], reading them back [`read`].

Every video shows one *actor* whose body motion defines the action, over a textured background that
moves. Five binary privacy attributes are drawn independently of the action and of each other, and each is
carried by a visible cue. Two *worlds* draw these videos (`generate_synth_privacy(..., world=N)`,
`vidanon synth --world N`): the attributes (the label schema) are the same in both, while the figures, the
place and shape of each cue, the backgrounds, the camera and the actions differ, so that a method tuned on one
world can be measured on another.

World 1 (the default):

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
background texture (a sum of gratings) and its pan.

World 2 (`world2`): outlined cartoon figures of another build (a square head under a hat, a boxy shirt, sleeved
arms ending in hands, longer legs, shoes), a tiled wall over a planked floor, and a camera that pans, zooms and
shakes (the whole scene, figures included, is seen through it):

| attribute      | 1                                          | 0                                  |
|----------------|--------------------------------------------|------------------------------------|
| `skin_color`   | dark skin (head, hands, bare legs)         | light skin                         |
| `face`         | a visor band across the eyes               | plain face                         |
| `gender`       | a skirt over the hips                      | none (the legs show)               |
| `nudity`       | bare legs (skin coloured)                  | trousers                           |
| `relationship` | a companion sits on a stool behind         | the actor is alone                 |

The companion shares the actor's skin tone, wears trousers, no skirt and no visor. The actions
(`world_actions(2)`) are `kick` (one leg, chosen per video, kicks out sideways), `clap` (the hands meet in
front of the chest), `bow` (the upper body bends towards the camera: the head and shoulders sink), `run_left`,
`run_right` (running across the frame, faster strides than world 1's walk, elbows bent) and `turn` (the upper
body twists from side to side: the shoulders narrow and the visor slides); `run_left` and `run_right` look the
same in any single frame. Nuisances: as in world 1, plus the tile size and pattern, the floor, the camera's pan,
zoom and shake, and the companion's place and size.

The `action` region (the pixels where the action is shown) is the visible pixels of the actor's parts that move
for the video's action: a part moves when its drawn position or shape changes by more than about a pixel over
the video in the scene (the camera's own motion does not count). The companion and the background are never in
it. The parts, read from the motion code of each world:

| world | action                                  | moving parts (the `action` region)                              |
|-------|-----------------------------------------|-----------------------------------------------------------------|
| 1     | `walk_left`, `walk_right`, `jump`, `squat` | the whole actor (it travels, jumps or sinks: every part moves) |
| 1     | `wave`                                  | the waving arm                                                  |
| 1     | `spin`                                  | both arms and the torso (it narrows); head, hair and legs stay  |
| 2     | `run_left`, `run_right`                 | the whole actor                                                 |
| 2     | `kick`                                  | the kicking leg and its shoe                                    |
| 2     | `clap`                                  | both arms and hands                                             |
| 2     | `bow`                                   | the upper body: torso, arms, hands, head, visor and hat         |
| 2     | `turn`                                  | torso, arms, hands and the visor (when drawn); head and hat stay|

Files written by `generate_synth_privacy(output_dir, ...)`:

- `videos/<action>/<video_id>.mp4`: H.264 (yuv420p) videos of `num_frames` frames of
  `image_size x image_size` pixels at `fps` frames per second. Video ids are `synth_<index>` in world 1 and
  `synth_w<world>_<index>` in the other worlds.
- `manifest.jsonl`: one JSON object per line and per video, with the keys
  `video_id` (str), `path` (the mp4 path relative to the manifest's folder), `action` (str, one of the world's
  actions), `label` (int, index into the world's actions: `actions` of `synth_config.json`), the five attributes
  `skin_color`, `face`, `gender`, `nudity`, `relationship` (0 or 1), `split` (`"train"`, `"val"` or `"test"`,
  stratified by action), `regions` (the region file's path relative to the manifest's folder), `num_frames`,
  `height`, `width` and `fps`.
- `regions/<video_id>.npz`: ground-truth regions, a `numpy.savez_compressed` archive of boolean
  arrays of shape `(num_frames, height, width)` (frame-aligned with the video), one per key of `REGION_NAMES`:
  `actor` (every visible pixel of the actor), one per privacy attribute, marking the visible
  pixels where that attribute's cue is shown, whatever the attribute's value, and `action` (above). World 1:
  `skin_color` (the actor's visible skin: head, arms and, when bare, torso), `face` (the face area
  of the head, where eyes and mouth are or would be drawn), `gender` (where long hair is or would
  be visible, plus the hair cap), `nudity` (the visible torso) and `relationship` (the visible
  companion; empty when there is none). World 2: `skin_color` (head, hands and, when bare, legs), `face` (the
  visor band, drawn or not), `gender` (where the skirt is or would be visible), `nudity` (the visible legs) and
  `relationship` (the visible companion and its stool). Read it with `read_synth_regions` (or
  `read_region_file`); `privacy_region` and `action_region` give the union of the privacy regions and the action
  region. Files of generator version 1 have no `action` key (their privacy regions read as before).
- `synth_config.json`: the generator settings (`generator_version`, `world`, the class names `actions`, the
  attribute and region names, and every argument).

The same seed and settings give the same manifest bytes and the same decoded frames, whatever the number of
worker processes (`num_workers`): each video's random stream depends on `(seed, index)` only. World 1 draws
exactly what it drew before worlds existed (generator version 1), the `action` region aside.

Defaults and why: 32-frame videos at 64x64 (a 16-frame clip with stride 2 covers a whole video), so
that an end-to-end benchmark trains its models on two CPU cores in minutes; `LARGE_IMAGE_SIZE` (112)
for the large setting. Attributes are balanced by default (`BALANCED_PREVALENCE`): chance cMAP is
then about 0.5, the widest room between a blind attacker and a perfect one, and every attribute has
enough positives in a small test split; `VP_UCF101_PREVALENCE` gives VP-UCF101's imbalance (chance
cMAP about 0.58). The actor is large (about two thirds of the frame height) with thick limbs, and the
background pans slowly (`BACKGROUND_SPEED`) at moderate contrast (`BACKGROUND_CONTRAST`): with a smaller
actor and a background moving as fast as the actor, small models trained from scratch on a few
hundred clips did not learn the actions (`benchmarks/calibrate_synth.py` measures what they learn). World 2
keeps these proportions, a slow pan (`world2.CAMERA_PAN`), a zoom of a few percent and a sub-pixel shake.

For evaluation, `load_synth_clips` decodes each video of a split once into a `ClipSet` of uint8
tensors, so that many fresh models can be trained without decoding again.
"""

from .read import (
    CONFIG_NAME,
    MANIFEST_NAME,
    ClipSet,
    action_region,
    check_synth_world,
    load_synth_clips,
    privacy_region,
    read_region_file,
    read_synth_config,
    read_synth_manifest,
    read_synth_regions,
    synth_action_names,
    synth_region_files,
    synth_world,
)
from .render import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_NUM_FRAMES,
    LARGE_IMAGE_SIZE,
    REGION_NAMES,
    SYNTH_ACTIONS,
    SYNTH_WORLDS,
    SynthVideo,
    check_world,
    render_synth_video,
    world_actions,
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
    "SYNTH_WORLDS",
    "VP_UCF101_PREVALENCE",
    "ClipSet",
    "SynthVideo",
    "action_region",
    "check_synth_world",
    "check_world",
    "generate_synth_privacy",
    "load_synth_clips",
    "privacy_region",
    "read_region_file",
    "read_synth_config",
    "read_synth_manifest",
    "read_synth_regions",
    "render_synth_video",
    "sample_synth_labels",
    "synth_action_names",
    "synth_region_files",
    "synth_world",
    "world_actions",
]
