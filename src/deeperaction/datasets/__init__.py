"""Training data: clip cache, clip datasets (cached or decoded on the fly), TPS layout, augmentation."""
