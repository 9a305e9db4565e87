"""The public training config: one pydantic model shared by the CLI, the server and the browser.

Every key has a default and an allowed range; a wrong key or value raises a ValidationError whose
location names the key (see `format_errors`). The JSON schema (`TrainConfig.model_json_schema()`)
is what the server publishes at /api/config-schema and embeds in the playground's page: the
browser takes every range, default and choice from it, and two marks on the fields:

- `live` (`LIVE`): a running training accepts a change of this key (engine/live.py, the `set`
  message of server/protocol.py); on `schedule` it marks the whole object.
- `used_by` (`used_by(...)`): the optimizers whose update rule reads this hyperparameter.
"""
from __future__ import annotations

import math
import re
import typing
from typing import Annotated, Literal, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer,
                      model_validator)

# Engine-wide limits (the server enforces tighter ones of its own, see server/limits.py).
MAX_HIDDEN_LAYERS = 10
MAX_NEURONS = 1024
MAX_POINTS = 100_000

# Every dataset name and the kind of target it produces.
DATASET_KINDS: dict[str, str] = {
    "circle": "binary",
    "xor": "binary",
    "gauss": "binary",
    "spiral": "binary",
    "moons": "binary",
    "flower": "binary",
    "multi_spiral": "multiclass",
    "multi_blobs": "multiclass",
    "reg_plane": "regression",
    "reg_gauss": "regression",
    "csv": "csv",  # kind decided by the file's labels
}
# Image datasets (engine/images.py): X is (m, n_H, n_W, n_C), for `network.layers` (or, flattened,
# for `network.hidden`). Kept apart from DATASET_KINDS, which lists the 2-D point datasets.
IMAGE_DATASETS: dict[str, str] = {"digits": "multiclass", "shapes": "multiclass"}
DIGITS_SHAPE = (8, 8, 1)  # scikit-learn's bundled 8×8 handwritten digits, 10 classes
MAX_LAYERS = 20  # entries of network.layers


def dataset_kind(name: str) -> str:
    """binary / multiclass / regression / csv of a dataset name (point or image)."""
    return DATASET_KINDS.get(name) or IMAGE_DATASETS[name]
# the output activations that fit each kind of data, the default first
OUTPUTS: dict[str, tuple[str, ...]] = {"binary": ("sigmoid", "softmax"), "multiclass": ("softmax",), "regression": ("linear",)}

FEATURE_PATTERN = r"^(x[1-9][0-9]*|x1_sq|x2_sq|x1x2|sin_x1|sin_x2)$"
CROSS_FEATURES = ("x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2")

# Ranges that a validator checks (its message names the range); `each_in` states them in the JSON
# schema too, from these same numbers.
SPLIT_RANGE = (0.0, 1.0)        # each train / dev / test ratio
SCALE_RANGE = (1e-3, 1e3)       # each input scale
KEEP_PROB_RANGE = (0.0, 1.0)    # (0, 1]: 0 excluded (KeepProb)

# Field marks (json_schema_extra), read by `live_paths` and `optimizer_uses`.
LIVE = {"live": True}


def used_by(*optimizers: str, live: bool = True) -> dict:
    """The mark of an optimizer hyperparameter: which optimizers read it (and that it is live)."""
    return {"used_by": list(optimizers), **(LIVE if live else {})}


def each_in(low: float, high: float, low_open: bool = False, marks: Optional[dict] = None):
    """json_schema_extra stating that every number of a list / tuple field (and a plain number,
    for a number-or-list field) is in [low, high] ((low, high] when `low_open`): the range its
    validator checks, published for the browser; `marks` are added to the field's schema."""
    bounds = {("exclusiveMinimum" if low_open else "minimum"): low, "maximum": high}

    def extra(schema: dict) -> None:
        schema.update(marks or {})
        for node in [schema, *schema.get("anyOf", [])]:
            for item in [node, node.get("items"), *node.get("prefixItems", [])]:
                if isinstance(item, dict) and item.get("type") in ("number", "integer"):
                    item.update(bounds)
    return extra


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must not be silently ignored. Every float must be finite:
    NaN or ±Infinity is refused ("Input should be a finite number", naming the key) on every float
    key of every section, as no key has a use for it and a config echoed back in `state` or saved
    must stay strict JSON (a browser's JSON.parse rejects Infinity)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DataConfig(_Strict):
    name: Literal[tuple(DATASET_KINDS) + tuple(IMAGE_DATASETS)] = Field(  # type: ignore[valid-type]
        "circle", description="a generated 2-D dataset, `csv` for a file (CLI `--data`, server upload), "
        "or the images `digits` / `shapes` (docs/config.md, Convolutional networks)")
    n: int = Field(400, ge=10, le=MAX_POINTS, description="number of generated points")
    noise: float = Field(0.0, ge=0.0, le=1.0, description="noise level, 0 = clean")
    classes: int = Field(3, ge=2, le=6, description="classes of the multi-class generators")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    split: tuple[float, float, float] = Field(
        (0.8, 0.2, 0.0), description="train / dev / test ratios, summing to 1",
        json_schema_extra=each_in(*SPLIT_RANGE),
    )
    scale: tuple[float, float] = Field(
        (1.0, 1.0), description="x1, x2 of generated data multiplied by these (stretches the raw "
        "input scales, as in the course's unnormalized-inputs picture); each in [0.001, 1000]",
        json_schema_extra=each_in(*SCALE_RANGE),
    )

    size: int = Field(16, ge=8, le=64, description="shapes: side n_H = n_W of the generated images")

    @field_validator("scale")
    @classmethod
    def _scale_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        low, high = SCALE_RANGE
        if any(not low <= s <= high for s in v):
            raise ValueError(f"each scale must be in [{low:g}, {high:g}]")
        return v

    @field_validator("split")
    @classmethod
    def _split_sums_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        low, high = SPLIT_RANGE
        if any(r < low or r > high for r in v):
            raise ValueError(f"each ratio must be in [{low:g}, {high:g}]")
        if not math.isclose(sum(v), 1.0, abs_tol=1e-6):
            raise ValueError(f"ratios must sum to 1 (got {sum(v):g})")
        if v[0] <= 0:
            raise ValueError("the train ratio must be above 0")
        return v


Activation = Literal["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


class ConvLayer(_Strict):
    """Z = W * A + b over f×f windows at stride s after padding p; A = g(Z) (engine/conv.py)."""
    type: Literal["conv"]
    filters: int = Field(8, ge=1, le=256, description="n_C of the output: the number of f×f×n_C[l-1] filters")
    size: int = Field(3, ge=1, le=15, description="f")
    stride: int = Field(1, ge=1, le=8, description="s")
    padding: Union[Literal["valid", "same"], Annotated[int, Field(ge=0, le=8)]] = Field(
        "valid", description='"valid" (p = 0), "same" (p = (f − 1)/2, f odd) or p')
    activation: Activation = "relu"
    batch_norm: Optional[bool] = Field(None, description="None = network.batch_norm (per channel)")


class PoolLayer(_Strict):
    """Max or average over f×f windows at stride s; no parameters."""
    type: Literal["pool"]
    mode: Literal["max", "average"] = "max"
    size: int = Field(2, ge=1, le=8, description="f")
    stride: Optional[int] = Field(None, ge=1, le=8, description="s; None = f")


class FlattenLayer(_Strict):
    """(m, n_H, n_W, n_C) → (n_H·n_W·n_C, m): unrolls each volume in (h, w, c) order."""
    type: Literal["flatten"]


class DenseLayer(_Strict):
    type: Literal["dense"]
    units: int = Field(32, ge=1, le=MAX_NEURONS)
    activation: Activation = "relu"
    batch_norm: Optional[bool] = Field(None, description="None = network.batch_norm")


class ResidualLayer(_Strict):
    """A[l] = g(Z₂ + A[l-1]): two "same" convs of stride 1 with n_C[l-1] filters (a ResNet block)."""
    type: Literal["residual"]
    size: int = Field(3, ge=1, le=15, description="f of both convs (odd)")
    activation: Activation = "relu"
    batch_norm: Optional[bool] = Field(None, description="None = network.batch_norm (per channel)")


LayerSpec = Annotated[Union[ConvLayer, PoolLayer, FlattenLayer, DenseLayer, ResidualLayer], Field(discriminator="type")]


class NetworkConfig(_Strict):
    hidden: list[int] = Field(
        [4, 2], max_length=MAX_HIDDEN_LAYERS, json_schema_extra=each_in(1, MAX_NEURONS),
        description="units per hidden layer; [] = logistic/softmax regression",
    )
    activation: Literal["sigmoid", "tanh", "relu", "leaky_relu", "linear"] = "relu"
    leaky_slope: float = Field(0.01, ge=0.0, le=1.0)
    output: Optional[Literal["sigmoid", "softmax", "linear"]] = Field(
        None, description="None picks sigmoid / softmax / linear from the data's kind"
    )
    init: Literal["zeros", "random", "he", "xavier", "glorot"] = "he"
    init_scale: float = Field(0.01, gt=0.0, le=100.0, description="scale of init='random'")
    batch_norm: bool = False
    bn_momentum: float = Field(0.9, ge=0.0, lt=1.0, description="β of the running averages")
    bn_epsilon: float = Field(1e-5, gt=0.0, le=1.0)
    layers: Optional[list[LayerSpec]] = Field(
        None, max_length=MAX_LAYERS,
        description="a convolutional network for image data (docs/config.md, Convolutional networks): "
                    "conv / pool / flatten / dense / residual entries, then the output layer; "
                    "replaces hidden and activation",
    )

    @field_validator("hidden")
    @classmethod
    def _layer_sizes(cls, v: list[int]) -> list[int]:
        for i, units in enumerate(v):
            if not 1 <= units <= MAX_NEURONS:
                raise ValueError(f"hidden[{i}] = {units}: units must be in [1, {MAX_NEURONS}]")
        return v

    @model_serializer(mode="wrap")
    def _without_unused_hidden(self, dump):
        """With `layers`, a dump leaves out `hidden`'s default (it is not the network), so it
        validates again: a live change re-validates the dump (engine/live.py), and the config a
        page is sent is one it can send back."""
        data = dump(self)
        if self.layers is not None and "hidden" not in self.model_fields_set:
            data.pop("hidden", None)
        return data


# One keep probability, in (0, 1]: the type of `keep_prob` (a number or one per hidden layer), so
# the range is in the schema and in the `set` message's field (server/protocol.py).
KeepProb = Annotated[float, Field(gt=KEEP_PROB_RANGE[0], le=KEEP_PROB_RANGE[1])]


class RegularizationConfig(_Strict):
    l2: float = Field(0.0, ge=0.0, le=100.0, description="λ of the L2 penalty", json_schema_extra=LIVE)
    l1: float = Field(0.0, ge=0.0, le=100.0, description="λ of the L1 penalty", json_schema_extra=LIVE)
    keep_prob: Union[KeepProb, list[KeepProb]] = Field(
        1.0, description="inverted-dropout keep probability in (0, 1]: one number or one per hidden layer",
        json_schema_extra=LIVE,
    )

    @field_validator("keep_prob", mode="before")
    @classmethod
    def _keep_prob_range(cls, v):
        """A number out of range is named in one sentence (the type alone would report it once per
        branch of number-or-list); anything else is left to the type."""
        low, high = KEEP_PROB_RANGE
        for p in v if isinstance(v, list) else [v]:
            if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p) and not low < p <= high:
                raise ValueError(f"keep_prob {float(p)} must be in ({low:g}, {high:g}]")
        return v


class OptimizerConfig(_Strict):
    name: Literal["gd", "momentum", "rmsprop", "adam"] = "adam"
    learning_rate: float = Field(0.01, gt=0.0, le=100.0, json_schema_extra=LIVE)
    beta: float = Field(0.9, ge=0.0, lt=1.0, description="momentum's β", json_schema_extra=used_by("momentum"))
    beta1: float = Field(0.9, ge=0.0, lt=1.0, description="Adam's β₁", json_schema_extra=used_by("adam"))
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="RMSprop's and Adam's β₂",
                         json_schema_extra=used_by("rmsprop", "adam"))
    epsilon: float = Field(1e-8, gt=0.0, le=1.0, json_schema_extra=used_by("rmsprop", "adam"))
    bias_correction: bool = Field(True, json_schema_extra=used_by("adam"))


class ScheduleConfig(_Strict):
    name: Literal["constant", "inverse_time", "exponential", "inverse_sqrt"] = "constant"
    decay_rate: float = Field(1.0, ge=0.0, le=1000.0, description="inverse_time: α₀/(1 + rate·epoch)")
    interval: Optional[int] = Field(None, ge=1, le=100_000, description="inverse_time staircase every N epochs")
    base: float = Field(0.95, gt=0.0, le=1.0, description="exponential: base^epoch·α₀")
    k: float = Field(1.0, gt=0.0, le=1000.0, description="inverse_sqrt: k/√(epoch+1)·α₀")


class EarlyStoppingConfig(_Strict):
    patience: int = Field(50, ge=1, le=100_000, description="epochs without dev-cost improvement")
    min_delta: float = Field(0.0, ge=0.0, description="smallest decrease that counts as improvement")


class TrainConfig(_Strict):
    data: DataConfig = Field(default_factory=DataConfig)
    features: Optional[list[str]] = Field(
        None, description="inputs fed to the net; None = x1..xn of the data"
    )
    normalize: bool = True
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, json_schema_extra=LIVE)
    batch_size: int = Field(64, ge=1, le=MAX_POINTS, description="≥ m means batch gradient descent")
    epochs: int = Field(100, ge=0, le=1_000_000)
    early_stopping: Optional[EarlyStoppingConfig] = None
    seed: int = Field(1, ge=0, le=2**32 - 1, description="seed of initialization, shuffling and dropout")
    dtype: Literal["float64", "float32"] = "float64"
    backend: Literal["numpy", "cupy"] = "numpy"
    human_error: Optional[float] = Field(
        None, ge=0.0, le=1.0, description="human-level error (Bayes proxy) for the bias/variance diagnosis",
        json_schema_extra=LIVE,
    )

    @field_validator("features")
    @classmethod
    def _feature_names(cls, v: Optional[list[str]]) -> Optional[list[str]]:
        import re

        if v is None:
            return v
        if not v:
            raise ValueError("at least one feature is needed")
        for name in v:
            if not re.match(FEATURE_PATTERN, name):
                raise ValueError(
                    f"unknown feature {name!r}: allowed x1..xn, " + ", ".join(CROSS_FEATURES)
                )
        if len(set(v)) != len(v):
            raise ValueError("features must not repeat")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> "TrainConfig":
        kp = self.regularization.keep_prob
        layers = self.network.layers
        if layers is not None:
            self._check_layers()
            if isinstance(kp, list) and len(kp) != len(layers):
                raise ValueError(
                    f"regularization.keep_prob has {len(kp)} values but network.layers has "
                    f"{len(layers)} entries: give one per layer or a single number (dense layers only)"
                )
        elif isinstance(kp, list) and len(kp) != len(self.network.hidden):
            raise ValueError(
                f"regularization.keep_prob has {len(kp)} values but network.hidden has "
                f"{len(self.network.hidden)} layers: give one per hidden layer or a single number"
            )
        if self.data.name in IMAGE_DATASETS and self.features is not None:
            raise ValueError(f"features: image data {self.data.name!r} takes its pixels as they are (features must be null)")
        kind = dataset_kind(self.data.name)
        out = self.network.output
        if out is not None and kind != "csv":
            allowed = OUTPUTS[kind]
            if out not in allowed:
                raise ValueError(
                    f"network.output {out!r} does not fit {kind} data {self.data.name!r}: "
                    f"allowed {sorted(allowed)}"
                )
        return self

    def keep_probs(self) -> list[float]:
        """keep_prob for each hidden layer; with network.layers, one per entry of layers (a single
        number applies to the dense layers only)."""
        kp, layers = self.regularization.keep_prob, self.network.layers
        if layers is not None:
            return list(kp) if isinstance(kp, list) else [kp if spec.type == "dense" else 1.0 for spec in layers]
        return list(kp) if isinstance(kp, list) else [kp] * len(self.network.hidden)

    def image_shape(self) -> Optional[tuple[int, int, int]]:
        """(n_H, n_W, n_C) of one example of image data, None for point data."""
        if self.data.name == "digits":
            return DIGITS_SHAPE
        if self.data.name == "shapes":
            return (self.data.size, self.data.size, 1)
        return None

    def _check_layers(self) -> None:
        """network.layers needs image data and must fit its shape: a ShapeError names the layer
        and the arithmetic (engine.conv.plan_layers), reported at network.layers.<i>."""
        from engine.conv import ShapeError, plan_layers  # NumPy-only module; imported when used

        shape = self.image_shape()
        if shape is None:
            raise ValueError(f"network.layers: convolutional layers need image data (data.name "
                             f"{' or '.join(map(repr, IMAGE_DATASETS))}), not {self.data.name!r}")
        if "hidden" in self.network.model_fields_set:
            raise ValueError("network: give network.layers or network.hidden, not both")
        try:
            plan_layers(self.network.layers, shape)
        except ShapeError as e:
            raise ValueError(str(e)) from None


def _marks(field) -> dict:
    extra = field.json_schema_extra
    if callable(extra):
        extra = {}
        field.json_schema_extra(extra)
    return extra or {}


def _nested_model(annotation) -> Optional[type[BaseModel]]:
    for a in (annotation, *typing.get_args(annotation)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def model_at(path: tuple[str, ...], model: type[BaseModel] = TrainConfig) -> type[BaseModel]:
    """The model that holds the last key of `path`, e.g. OptimizerConfig for ('optimizer', 'beta')."""
    for part in path[:-1]:
        model = _nested_model(model.model_fields[part].annotation)
    return model


def live_paths(model: type[BaseModel] = TrainConfig, prefix: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """{live key: its path in the config}, from the `live` marks: a running training accepts a
    change of these (the `set` message names each by its last part, e.g. 'learning_rate' for
    ('optimizer', 'learning_rate'))."""
    paths: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        nested = _nested_model(field.annotation)
        if _marks(field).get("live"):
            paths[name] = (*prefix, name)
        elif nested is not None:
            paths.update(live_paths(nested, (*prefix, name)))
    return paths


def optimizer_uses() -> dict[str, tuple[str, ...]]:
    """{optimizer name: the hyperparameters its update rule reads}, from the `used_by` marks
    (gradient descent reads none: only the learning rate, which every optimizer reads)."""
    names = typing.get_args(OptimizerConfig.model_fields["name"].annotation)
    return {opt: tuple(key for key, field in OptimizerConfig.model_fields.items()
                       if opt in _marks(field).get("used_by", ())) for opt in names}


_KEYED = re.compile(r"^[a-z_0-9]+(\.[a-z_0-9]+)*: ")


def format_errors(err: ValidationError, prefix: str = "") -> list[str]:
    """One line per problem, each naming the key path, e.g. 'optimizer.learning_rate: ...'."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in ("function-after",))
        loc = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        msg = e["msg"].removeprefix("Value error, ")
        if not loc and _KEYED.match(msg):  # a cross-check whose message starts with its key
            lines.append(msg)
            continue
        lines.append(f"{loc or 'config'}: {msg}")
    return lines


def load_config(data: dict) -> TrainConfig:
    """Validate a config dict (raises pydantic.ValidationError)."""
    return TrainConfig.model_validate(data)
