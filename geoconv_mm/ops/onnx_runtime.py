"""A GeoConv AU model exported to ONNX, run by onnxruntime.

``tools/deployment/pytorch2onnx.py`` writes the network (GeoConv lowered to
standard ONNX operators) with everything inference needs in the file's
metadata (:class:`ONNXModelMeta`), so that a deployed model needs no config:

- graph inputs: ``crop``, float32 ``(N, C, H, W)``, the face crop as
  ``PackAUInputs`` packs it (BGR, 0-255), then one float32
  ``(N, Kh*Kw, H_out, W_out)`` geodesic-weight tensor per GeoConv spec, named
  by its :attr:`~geoconv_mm.ops.GeoSpec.key`; the batch dimension is dynamic;
- graph output: ``probabilities``, ``(N, A)`` AU occurrence probabilities
  (the colour conversion and normalisation of the model's data preprocessor
  run inside the graph);
- metadata: AU ids and names, the decision threshold, the input size, the
  normalisation, the spec keys and the test pipeline that makes the geodesic
  weights of a face crop (without its loading steps, specs filled in).

:class:`ONNXAUModel` loads such a file, checks it, and runs it on crops and
geodesic weights, or on samples packed by the stored pipeline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .geo_spec import GeoSpec

# Version of the metadata layout below; readers refuse other versions.
META_FORMAT = 1
CROP_INPUT = 'crop'
OUTPUT = 'probabilities'
#: The graph output of the AU intensities (0-5) of a model with an
#: intensity head, beside the probabilities' output.
INTENSITY_OUTPUT = 'intensities'
INSTALL_HINT = (
    'onnxruntime is needed to run exported models: '
    'pip install -r requirements/deploy.txt'
)


@dataclass(frozen=True)
class ONNXModelMeta:
    """What a deployed GeoConv AU model needs besides its graph.

    Args:
        au_ids (list[int]): AU numbers of the outputs, in order.
        threshold (float): Probability at which an AU counts as present.
        input_size (tuple[int, int]): (H, W) of the face crop.
        mean, std (list[float]): Per-channel normalisation, applied inside
            the graph after the colour conversion.
        to_rgb (bool): Whether the graph reverses the BGR crop to RGB first.
        geo_specs (list[str]): GeoSpec keys, in the order of the graph's
            geodesic-weight inputs.
        pipeline (list[dict]): The test pipeline without its loading steps,
            as transform configs, the specs of ``GenerateGeodesicWeights``
            filled in.
        producer (str): Who wrote the file (package and torch versions).
    """

    au_ids: List[int]
    threshold: float
    input_size: Tuple[int, int]
    mean: List[float]
    std: List[float]
    to_rgb: bool
    geo_specs: List[str]
    pipeline: List[dict] = field(default_factory=list)
    producer: str = ''

    @property
    def au_names(self) -> List[str]:
        """OpenFace-style names: ``AU01``, ``AU12``..."""
        return [f'AU{a:02d}' for a in self.au_ids]

    @property
    def input_names(self) -> List[str]:
        return [CROP_INPUT, *self.geo_specs]

    def to_props(self) -> Dict[str, str]:
        """The ONNX ``metadata_props``: one JSON value per field."""
        props = {
            f'geoconv_mm.{k}': json.dumps(v) for k, v in asdict(self).items()
        }
        props['geoconv_mm.au_names'] = json.dumps(self.au_names)
        props['geoconv_mm.format'] = str(META_FORMAT)
        return props

    @classmethod
    def from_props(
        cls, props: Mapping[str, str], source: str = 'the model'
    ) -> 'ONNXModelMeta':
        """Reads :meth:`to_props`; errors name ``source`` and the key."""
        version = props.get('geoconv_mm.format')
        if version is None:
            raise ValueError(
                f'{source} has no geoconv_mm metadata: export it with '
                'tools/deployment/pytorch2onnx.py'
            )
        if version != str(META_FORMAT):
            raise ValueError(
                f'{source} has geoconv_mm metadata format {version}; this '
                f'version reads format {META_FORMAT}'
            )
        values = {}
        for name in cls.__dataclass_fields__:
            key = f'geoconv_mm.{name}'
            if key not in props:
                raise ValueError(f'{source}: metadata {key!r} is missing')
            try:
                values[name] = json.loads(props[key])
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f'{source}: metadata {key!r} is not JSON: {exc}'
                ) from None
        values['input_size'] = tuple(values['input_size'])
        meta = cls(**values)
        for key in meta.geo_specs:
            GeoSpec.from_key(key)  # raises for a malformed key
        return meta

    def geo_weight_shape(self, key: str, batch: int) -> Tuple[int, ...]:
        """(N, Kh*Kw, H_out, W_out) of spec ``key`` for this input size."""
        spec = GeoSpec.from_key(key)
        return (batch, spec.num_taps, *spec.output_size(self.input_size))


def write_metadata(model_proto, meta: ONNXModelMeta) -> None:
    """Stores ``meta`` in an ``onnx.ModelProto`` (replacing earlier
    geoconv_mm entries)."""
    props = meta.to_props()
    kept = [p for p in model_proto.metadata_props if p.key not in props]
    del model_proto.metadata_props[:]
    model_proto.metadata_props.extend(kept)
    for key, value in props.items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value


class ONNXAUModel:
    """An exported AU model in onnxruntime.

    Args:
        path (str): The ``.onnx`` file.
        providers (Sequence[str], optional): onnxruntime execution providers;
            default CPU.
        threads (int, optional): Intra-op threads of the CPU provider.

    Example::

        model = ONNXAUModel('geocnn.onnx')
        probs = model(crops, weights)  # weights: {spec key: array}
        present = probs >= model.meta.threshold
    """

    def __init__(
        self,
        path: str,
        providers: Optional[Sequence[str]] = None,
        threads: Optional[int] = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ImportError(INSTALL_HINT) from exc
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        self.path = str(path)
        self.session = ort.InferenceSession(
            self.path,
            options,
            providers=list(providers or ['CPUExecutionProvider']),
        )
        self.meta = ONNXModelMeta.from_props(
            self.session.get_modelmeta().custom_metadata_map, self.path
        )
        names = [i.name for i in self.session.get_inputs()]
        if names != self.meta.input_names:
            raise ValueError(
                f'{self.path}: graph inputs {names} do not match its '
                f'metadata {self.meta.input_names}'
            )

    # The interface of an AU network backend (au_ids, num_aus, threshold,
    # geo_specs, predict), so that an inferencer can swap PyTorch for this.
    @property
    def au_ids(self) -> List[int]:
        return list(self.meta.au_ids)

    @property
    def num_aus(self) -> int:
        return len(self.meta.au_ids)

    @property
    def threshold(self) -> float:
        return self.meta.threshold

    def geo_specs(self, crop_size) -> List[GeoSpec]:
        """The GeoSpecs the graph reads; ``crop_size`` must be the exported
        input size."""
        size = (
            (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
        )
        if tuple(size) != tuple(self.meta.input_size):
            raise ValueError(
                f'{self.path} was exported for {self.meta.input_size} '
                f'crops, not {tuple(size)}'
            )
        return [GeoSpec.from_key(k) for k in self.meta.geo_specs]

    def __call__(
        self, crops, geo_weights: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """AU probabilities of a batch.

        Args:
            crops (array-like): (N, C, H, W) face crops as ``PackAUInputs``
                packs them (BGR, 0-255, any real dtype; C = len(meta.mean),
                3, or 4 with a depth channel).
            geo_weights (Mapping[str, array-like]): ``{spec key: (N, Kh*Kw,
                H_out, W_out)}`` for every key of ``meta.geo_specs`` (extra
                keys are ignored).

        Returns:
            np.ndarray: float32 (N, A) probabilities, A = len(meta.au_ids).
        """
        crops = np.ascontiguousarray(np.asarray(crops), np.float32)
        c, (h, w) = len(self.meta.mean), self.meta.input_size
        if crops.ndim != 4 or crops.shape[1:] != (c, h, w):
            raise ValueError(
                f'{self.path}: crops must be (N, {c}, {h}, {w}), got '
                f'{crops.shape}'
            )
        feeds = {CROP_INPUT: crops}
        for key in self.meta.geo_specs:
            if key not in geo_weights:
                raise KeyError(
                    f'{self.path} needs geodesic weights {key!r}; got '
                    f'{sorted(geo_weights) or "none"}'
                )
            value = np.ascontiguousarray(np.asarray(geo_weights[key]))
            value = value.astype(np.float32, copy=False)
            expected = self.meta.geo_weight_shape(key, crops.shape[0])
            if value.shape != expected:
                raise ValueError(
                    f'{self.path}: geodesic weights {key!r} must be '
                    f'{expected}, got {value.shape}'
                )
            feeds[key] = value
        (probs,) = self.session.run([OUTPUT], feeds)
        return probs

    def predict(self, samples: Sequence[dict]) -> np.ndarray:
        """AU probabilities (B, A) of samples packed by ``meta.pipeline``
        (``PackAUInputs``: ``inputs`` (3, H, W) and ``data_samples`` with
        ``geo_weights``)."""
        if not samples:
            return np.zeros((0, len(self.meta.au_ids)), np.float32)
        crops = np.stack([np.asarray(s['inputs']) for s in samples])
        weights = {
            key: np.stack(
                [
                    np.asarray(s['data_samples'].geo_weights[key])
                    for s in samples
                ]
            )
            for key in self.meta.geo_specs
        }
        return self(crops, weights)
