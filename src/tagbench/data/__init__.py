"""Datasets in one layout, and their parts: getting MTT (`archive`, `acquire`; downloads:
`core.download`), the demo, custom and drum-kit datasets (`demo`, `custom`,
`drumkits`), the annotations table (`annotations`), the split and reading it back (`split`,
`split_files`)."""
