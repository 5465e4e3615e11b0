"""tagbench: music auto-tagging on MagnaTagATune by transfer learning from VGGish.

The package holds all logic; the Snakemake rules are thin `tagbench <verb>` calls.
Heavy imports (TensorFlow, matplotlib) happen inside the verbs that need them.
"""

__version__ = "0.1.0"
