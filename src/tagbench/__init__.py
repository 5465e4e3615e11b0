"""tagbench: a reproducible benchmark of music auto-tagging by transfer learning from
pretrained audio networks (VGGish, the musicnn models), on MagnaTagATune, its demo, and users'
own datasets.

The package holds all logic; the Snakemake rules are thin `tagbench <verb>` calls. Its
subpackages follow the DAG, each importing only those before it: `core` -> `backbones` ->
`settings` -> `data` -> `features` -> `models` -> `evaluation` -> `reporting` -> `cli`
(ARCHITECTURE.md). Heavy imports (TensorFlow, matplotlib) happen inside the verbs that need them.
"""

__version__ = "0.1.0"
