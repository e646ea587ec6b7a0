"""brainbridge: ann package — the artificial networks (PyTorch only, never Brian2).

    from ann import data, models, train
    ds = data.digits(seed=0)                  # .train / .test: x (N, 64) float32 in [0, 1], y (N,)
    net = models.MLP(64, [128], 10)           # also CNN, RNN(cell="lstm"), AttentionNet, Autoencoder, GAN,
                                              # SpikingMLP (LIF neurons, surrogate gradients)
    history = train.fit(net, ds.train, epochs=30, device="auto")
    acc = train.evaluate(net, ds.test)        # fraction correct in [0, 1]
    acts = models.record_activations(net, ds.test.x)   # {layer name: array}, forward order

Modules: data (data sets), grammar (the Elman-style sentence grammar behind data's text
tasks), models (architectures, activation recording), train (fit, evaluate, checkpoints,
transfer learning), gan (adversarial training), spiking (LIF layers trained by
backpropagation through time with surrogate gradients), distributed (DDP under
torchrun), lesion (masks and hooks for disorder models).
"""
