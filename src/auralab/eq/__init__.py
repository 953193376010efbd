"""Semantic EQ: 5-band equaliser settings from descriptors ("warm", "bright"), learned on SAFE-DB.

``data`` reads SAFE, ``normalise`` maps settings to [0, 1] with fixed physical bounds,
``filters`` holds the RBJ biquads (torch response, scipy filtering), ``models`` the generators,
``task`` trains them with the shared trainer, ``generate`` turns words into settings and sound,
``evaluate`` measures them, ``cli`` is ``auralab eq``.
"""
