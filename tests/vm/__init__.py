"""Real-guest test harness for balloontop (pytest marker ``vm``).

Boots Debian kernels under QEMU (TCG) with a real ``virtio-balloon-pci`` device, moves
the balloon over QMP and runs the installed balloontop inside the guest through a
read-only 9p share of the host's root. See README.md in this folder.
"""
