"""The choices a training clip is made with, named without TensorFlow.

`xwisenet_tf.training.config.TrainConfig` checks a run's crop and colour jitter against them
before TensorFlow loads; the clip pipeline (`xwisenet_tf.data.pipeline`, `clip_ops`) applies
them.
"""

# Training crops, each drawing a scale and a position uniformly from its own choices
# (`xwisenet_tf.data.pipeline.TRAIN_CROPS`). "corner_multiscale" is the paper's (sec. IV-B): centre
# or a corner, at a scale from 1 to 1/2 of the short side. A corner crop at scale 1/2 holds a
# quarter of a 4:3 frame and can miss the actor altogether, so on data whose subject sits near the
# centre it adds label noise; "corner_large" keeps the five positions with the three largest
# scales (1 to 2^-1/2: at least half the frame's area, so the actor stays in view);
# "centre_multiscale" keeps the scale jitter at the centre, "centre" keeps only temporal jitter
# and the flip. "corner" keeps the five positions at scale 1 only: the window shifts along the
# long side of the frame but never zooms, so the actor has the size it has at test time
# (sec. IV-C crops the centre at scale 1).
TRAIN_CROP_NAMES = ("corner_multiscale", "corner_large", "centre_multiscale", "centre", "corner")
DEFAULT_TRAIN_CROP = "corner_multiscale"
# `jitter_colours` at strength 1: the range of the brightness, contrast and saturation factors
# around 1 and of the hue shift (turns), those of torchvision's ColorJitter(0.4, 0.4, 0.4, 0.1).
COLOUR_JITTER_RANGES = (0.4, 0.4, 0.4, 0.1)
MAX_COLOUR_JITTER = 2.0  # keeps every factor > 0
