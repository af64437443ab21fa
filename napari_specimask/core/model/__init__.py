"""The network: the smp factory and encoder weights, losses, the weights format
(safetensors + config), loading, the shared inference cache, and freeing disk.

May import: the core basics, ``io`` and ``store``.
"""
