"""Datasets in one layout, and their parts: getting MTT and the VGGish checkpoint (`download`,
`archive`, `acquire`, `checkpoint`), the demo, custom and drum-kit datasets (`demo`, `custom`,
`drumkits`), the annotations table (`annotations`), the split and reading it back (`split`,
`split_files`)."""
