"""Brewing rules of thumb shared by the recipe reader (its documented defaults) and the features
(their fill-ins): one declaration for both."""

# The dataset's recipes are all 20 l batches boiled as 25 l (docs/dataset.md).
DEFAULT_VOLUME_LITRES = 20.0
BOIL_VOLUME_RATIO = 1.25
DEFAULT_OG = 1.050
# ABV (%) ≈ (OG - FG) x 131.25: used to check and to fill the original gravity.
ABV_PER_GRAVITY_POINT = 131.25
