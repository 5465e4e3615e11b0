"""Networks and the jobs that run them: backbone + pooling + head (`networks`), the model file
(`model_file`), the frozen backbone's cache (`backbone_cache`), batched patch scoring
(`inference`), the training stream and loop (`stream`, `train`), tagging new audio (`predict`)."""
