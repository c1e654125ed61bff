"""Fine-tuning recipe: data preparation, LoRA training and evaluation entry points."""
