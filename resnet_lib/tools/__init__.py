"""The tools beside the core: code the notebooks run but never show as teaching code.

Import each from its module, which says where it lives, e.g.
``from resnet_lib.tools.benchmark import run_grid``.

- `validate`: the argument checks at the library's edges (builders, `train`, data, checks)
- `source`: `show_source`, how the notebooks show the library's code
- `figures`: the drawings of notebooks 01, 06 and 07, and `figure_problems`
- `tables`: Table 1 and the comparison tables of notebook 04
- `benchmark`, `timing`, `step`: notebook 05's throughput grid (``python -m
  resnet_lib.tools.benchmark``, also notebook 06's data-pipeline benchmark), its timers, one step
- `shapes`, `data`, `gpu_data`: the generated shapes data set; CIFAR-10, augmentation, data
  loaders; CIFAR-10 as one uint8 tensor on the GPU (notebook 06 §2)
- `sampler`, `checkpoint`: a sampler that resumes mid-epoch; checkpoints and exact resume
- `train_cifar`, `ddp_demos`: a full CIFAR-10 run, on one device or several (``torchrun -m ...``);
  the DDP pitfalls of notebook 06
- `degradation`: notebook 03's plain-vs-residual experiment and its stored results
- `pretrained`: torchvision's ImageNet weights in our models, transfer learning
"""
