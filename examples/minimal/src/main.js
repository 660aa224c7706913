// The hosted client's code with one import changed:
//   import { fal } from "@fal-ai/client";
import { demoModelSource, fal, installSote } from 'sote-webgpu';

// The tiny demo model that ships with the package (random weights: it draws noise, in seconds). Without this
// line `fal` answers with SoteDiffusion V2, downloaded once from huggingface.co into the browser's storage.
// ?backend=wasm forces the CPU backend (the default picks WebGPU when the browser has it).
const backend = new URLSearchParams(location.search).get('backend') ?? 'auto';
installSote(window, { modelSource: async (context) => ({ ...(await demoModelSource(context)), backend }) });

const form = document.querySelector('#form');
const status = document.querySelector('#status');
const image = document.querySelector('#image');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  status.textContent = 'Queued…';
  try {
    const result = await fal.subscribe('fal-ai/stable-cascade/sote-diffusion', {
      input: {
        prompt: form.prompt.value,
        image_size: { width: 256, height: 256 },
        first_stage_steps: 4,
        second_stage_steps: 4,
      },
      logs: true,
      onQueueUpdate: (update) => {
        if (update.status === 'IN_PROGRESS') status.textContent = update.logs.at(-1)?.message ?? 'Running…';
      },
    });
    const [first] = result.data.images;
    image.src = first.url;
    image.alt = result.data.prompt;
    image.width = first.width;
    image.height = first.height;
    image.hidden = false;
    status.textContent = `Done: ${first.width}×${first.height}, seed ${result.data.seed}, ${result.data.timings.inference.toFixed(1)} s.`;
    window.exampleResult = { requestId: result.requestId, image: first, seed: result.data.seed };
  } catch (error) {
    status.textContent = `Failed: ${error.message}`;
    window.exampleResult = { error: `${error.name}: ${error.message}` };
  }
});
