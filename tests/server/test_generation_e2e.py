"""A real torch generator, published through the Generator wrapper, served by seed."""

from __future__ import annotations

import numpy as np

from hub.api import Hub
from hub.families.generation import draw_latent
from hub.server.app import create_app


async def test_a_published_torch_generator_samples_by_seed(aiohttp_client, serve_settings) -> None:
    import torch

    from hub.families.generation import Generator

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2), torch.nn.Tanh()
    ).eval()
    with Hub(serve_settings) as hub:
        version = hub.publish(Generator(net, latent_dim=4), name="gan", sample=8)
        assert version.task == "generation" and version.latent_input == "latent"
        client = await aiohttp_client(create_app(hub))
        meta = await (await client.get("/v2/models/gan")).json()
        assert meta["parameters"]["latent_input"] == "latent"

        async def sample(seed: int, count: int) -> np.ndarray:
            body = {"inputs": [], "parameters": {"seed": seed, "num_samples": count}}
            response = await client.post("/v2/models/gan/infer", json=body)
            assert response.status == 200, await response.text()
            out = (await response.json())["outputs"][0]
            return np.array(out["data"], np.float32).reshape(out["shape"])

        first, again, other = await sample(3, 6), await sample(3, 6), await sample(4, 6)
        assert first.shape == (6, 2)
        np.testing.assert_array_equal(first, again)
        assert not np.allclose(first, other)
        with torch.no_grad():
            expected = net(torch.from_numpy(draw_latent(6, 4, 3))).numpy()
        np.testing.assert_allclose(first, expected, atol=1e-5)
        bad = await client.post("/v2/models/gan/infer", json={"parameters": {"num_samples": 0}})
        assert bad.status == 400 and "num_samples" in (await bad.json())["error"]
