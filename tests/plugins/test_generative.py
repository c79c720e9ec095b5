"""Generators: a tiny GAN (torch) and a tiny VAE decoder (keras), exported and sampled by seed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from hub.errors import InvalidInput
from hub.export.convert import CheckedExport, convert_and_check
from hub.families.generation import LATENT_INPUT, Generator, draw_latent, latent_sample
from hub.families.registry import FamilyRegistry
from hub.onnx.signature import TensorSpec

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _generate(checked: CheckedExport, num_samples: int, latent_dim: int, seed: int) -> np.ndarray:
    """What the runtime does for a request with ``seed``/``num_samples``: draw, then run."""
    session = ort.InferenceSession(checked.model_bytes, providers=["CPUExecutionProvider"])
    feeds = {checked.exported.latent_input: draw_latent(num_samples, latent_dim, seed)}
    return session.run(None, feeds)[0]


def _assert_generation_contract(checked: CheckedExport, latent_dim: int) -> None:
    assert checked.exported.task == "generation"
    assert checked.exported.latent_input == LATENT_INPUT
    assert checked.inputs == (TensorSpec(LATENT_INPUT, "FP32", (-1, latent_dim)),)
    assert checked.card_defaults["task"] == "generation"
    assert checked.report.passed
    first = _generate(checked, 6, latent_dim, seed=42)
    again = _generate(checked, 6, latent_dim, seed=42)
    other = _generate(checked, 6, latent_dim, seed=43)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3
    assert first.shape[0] == 6


# -- the noise ----------------------------------------------------------------------------------
def test_draw_latent_is_seeded_standard_normal() -> None:
    noise = draw_latent(4000, 8, seed=7)
    assert noise.shape == (4000, 8) and noise.dtype == np.float32
    np.testing.assert_array_equal(noise, draw_latent(4000, 8, seed=7))
    np.testing.assert_array_equal(
        noise, np.random.default_rng(7).standard_normal((4000, 8), dtype=np.float32)
    )
    assert not np.array_equal(noise, draw_latent(4000, 8, seed=8))
    assert abs(float(noise.mean())) < 0.05 and abs(float(noise.std()) - 1.0) < 0.05
    assert not np.array_equal(draw_latent(3, 2, seed=None), draw_latent(3, 2, seed=None))


@pytest.mark.parametrize(
    "num_samples, latent_dim, seed, word",
    [
        (0, 4, 1, "num_samples"),
        (2, -1, 1, "latent_dim"),
        (2.5, 4, 1, "num_samples"),
        (2, 4, -3, "seed"),
        (2, 4, "7", "seed"),
        (True, 4, 1, "num_samples"),
    ],
)
def test_draw_latent_rejects_bad_arguments(
    num_samples: object, latent_dim: object, seed: object, word: str
) -> None:
    with pytest.raises(InvalidInput, match=word):
        draw_latent(num_samples, latent_dim, seed)  # type: ignore[arg-type]


def test_generator_spec_and_latent_sample_validation(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="latent_dim must be a positive integer"):
        Generator(object(), latent_dim=0)
    with pytest.raises(InvalidInput, match="cannot wrap another Generator"):
        Generator(Generator(object(), 2), latent_dim=2)
    assert Generator(str(tmp_path / "g.pt"), 2).model == tmp_path / "g.pt"
    np.testing.assert_array_equal(latent_sample(5, 3), draw_latent(5, 3, seed=0))
    with pytest.raises(InvalidInput, match=r"shape \(rows, 4\), got \(5, 3\)"):
        latent_sample(np.zeros((5, 3)), 4)
    with pytest.raises(InvalidInput, match="one input, 'latent'"):
        latent_sample({"z": np.zeros((5, 4))}, 4)


def test_unknown_object_wrapped_as_generator_is_not_claimed(registry: FamilyRegistry) -> None:
    with pytest.raises(InvalidInput, match="no installed family can handle Generator"):
        convert_and_check(registry, Generator(object(), latent_dim=2), 4)


# -- a GAN generator (torch) --------------------------------------------------------------------
def _ring(n: int, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(angle), np.sin(angle)], 1).astype(np.float32) * 0.8


def test_gan_generator_exports_and_samples_by_seed(registry: FamilyRegistry) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    latent_dim = 4
    generator = torch.nn.Sequential(
        torch.nn.Linear(latent_dim, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2), torch.nn.Tanh()
    )
    critic = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1)
    )
    g_opt = torch.optim.Adam(generator.parameters(), lr=0.01, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=0.01, betas=(0.5, 0.9))
    bce = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(0)
    probe = torch.from_numpy(draw_latent(512, latent_dim, seed=99))

    def mean_radius() -> float:
        with torch.no_grad():
            return float(generator(probe).norm(dim=1).mean())

    radius_before = mean_radius()
    for _ in range(150):
        real = torch.from_numpy(_ring(64, rng))
        fake = generator(torch.randn(64, latent_dim))
        d_opt.zero_grad()
        d_loss = bce(critic(real), torch.ones(64, 1)) + bce(
            critic(fake.detach()), torch.zeros(64, 1)
        )
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(critic(fake), torch.ones(64, 1))
        g_loss.backward()
        g_opt.step()
    radius_after = mean_radius()
    # the data lie on a ring of radius 0.8: training must pull the samples out towards it
    assert abs(radius_after - 0.8) < abs(radius_before - 0.8)

    spec = Generator(generator, latent_dim=latent_dim)
    assert registry.choose_family(spec) == "torch"
    checked = convert_and_check(registry, spec, draw_latent(32, latent_dim, seed=1))

    _assert_generation_contract(checked, latent_dim)
    assert checked.outputs == (TensorSpec("output_0", "FP32", (-1, 2)),)
    samples = _generate(checked, 10, latent_dim, seed=5)
    with torch.no_grad():
        expected = generator(torch.from_numpy(draw_latent(10, latent_dim, seed=5))).numpy()
    np.testing.assert_allclose(samples, expected, rtol=1e-4, atol=1e-6)
    assert np.all(np.abs(samples) <= 1.0)

    with pytest.raises(InvalidInput, match=r"shape \(rows, 3\), got \(8, 4\)"):
        convert_and_check(registry, Generator(generator, latent_dim=3), draw_latent(8, 4, seed=0))


# -- a VAE decoder (keras) ----------------------------------------------------------------------
def test_vae_decoder_exports_and_samples_by_seed(registry: FamilyRegistry, tmp_path: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    keras.utils.set_random_seed(0)
    latent_dim, features = 2, 8
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((latent_dim, features)) * 2
    data = tf.constant(
        1 / (1 + np.exp(-(rng.standard_normal((256, latent_dim)) @ mixing))), tf.float32
    )

    encoder = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(2 * latent_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(features, activation="sigmoid"),
        ]
    )
    optimizer = keras.optimizers.Adam(0.02)
    weights = encoder.trainable_variables + decoder.trainable_variables

    def loss_of(x: tf.Tensor) -> tf.Tensor:
        mean, log_var = tf.split(encoder(x), 2, axis=1)
        z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean), seed=1)
        reconstruction = tf.reduce_sum(tf.square(decoder(z) - x), axis=1)
        kl = -0.5 * tf.reduce_sum(1 + log_var - tf.square(mean) - tf.exp(log_var), axis=1)
        return tf.reduce_mean(reconstruction + 0.1 * kl)

    loss_before = float(loss_of(data))
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = loss_of(data)
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
    assert float(loss_of(data)) < 0.6 * loss_before

    checked = convert_and_check(registry, Generator(decoder, latent_dim=latent_dim), 24)
    assert checked.family == "keras"
    _assert_generation_contract(checked, latent_dim)
    samples = _generate(checked, 10, latent_dim, seed=3)
    expected = decoder.predict(draw_latent(10, latent_dim, seed=3), verbose=0)
    np.testing.assert_allclose(samples, expected, rtol=1e-4, atol=1e-6)
    assert samples.shape == (10, features) and np.all((samples > 0) & (samples < 1))

    saved = tmp_path / "decoder.keras"
    decoder.save(saved)
    from_file = convert_and_check(registry, Generator(saved, latent_dim=latent_dim), 8)
    np.testing.assert_allclose(_generate(from_file, 10, latent_dim, seed=3), expected, atol=1e-5)

    with pytest.raises(InvalidInput, match=r"takes one \(batch, 3\) latent input"):
        convert_and_check(registry, Generator(decoder, latent_dim=3), 4)
