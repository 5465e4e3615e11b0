"""Pretrained backbones other than VGGish: their front ends, networks and weights."""
