"""Virtio: device ids, feature-bit tables and decoding, reading ``/sys/bus/virtio``.

``ids`` names device types (``include/uapi/linux/virtio_ids.h``), ``tables`` holds the
feature bits of the transport and of each device type, ``decode`` turns a sysfs
``features`` string (or hex / a bit list) into named bits. None of it imports Textual.
"""
