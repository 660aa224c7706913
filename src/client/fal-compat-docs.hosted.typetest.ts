// Same text as fal-compat-docs.sote.typetest.ts but for the import line: the hosted client.
import { ApiError, createFalClient, fal, ValidationError } from "@fal-ai/client";

/**
 * The hosted client's documented calls for fal-ai/stable-cascade/sote-diffusion (the endpoint's API page and the
 * client's README), type-checked only (never run). fal-compat-docs.hosted.typetest.ts and
 * fal-compat-docs.sote.typetest.ts are this same text with a different import line (fal-compat.test.ts checks
 * that), so the hosted client's code type-checks against ours with only the import changed.
 */
export async function documentedCalls(file: File, signal: AbortSignal): Promise<void> {
  fal.config({ credentials: "YOUR_FAL_KEY" });

  const result = await fal.subscribe("fal-ai/stable-cascade/sote-diffusion", {
    input: {
      prompt: "newest, extremely aesthetic, best quality, 1girl, solo, pink hair, blue eyes, long hair, looking at viewer",
      negative_prompt: "very displeasing, worst quality, monochrome, realistic, oldest",
      first_stage_steps: 25,
      second_stage_steps: 10,
      guidance_scale: 8,
      second_stage_guidance_scale: 2,
      image_size: { width: 1024, height: 1536 },
      num_images: 1,
      enable_safety_checker: true,
      seed: 1234,
    },
    logs: true,
    onQueueUpdate: (update) => {
      if (update.status === "IN_PROGRESS") {
        update.logs.map((log) => log.message).forEach(console.log);
      }
    },
  });
  console.log(result.data);
  console.log(result.requestId);
  console.log(result.data.images[0].url, result.data.seed, result.data.has_nsfw_concepts, result.data.prompt);

  const ran = await fal.run("fal-ai/stable-cascade/sote-diffusion", { input: { prompt: "a cat", image_size: "square_hd" }, abortSignal: signal });
  console.log(ran.data.images.length);

  await fal.subscribe("fal-ai/stable-cascade/sote-diffusion", {
    input: { prompt: "a cat" },
    mode: "polling",
    pollInterval: 1000,
    timeout: 600_000,
    startTimeout: 60,
    priority: "low",
    webhookUrl: "https://optional.webhook.url/for/results",
    storageSettings: { expiresIn: "1d" },
    headers: { "x-custom": "1" },
    abortSignal: signal,
    onEnqueue: (requestId) => console.log(requestId),
  });
  await fal.subscribe("fal-ai/stable-cascade/sote-diffusion", { input: { prompt: "a cat" }, mode: "streaming", connectionMode: "client" });

  const { request_id } = await fal.queue.submit("fal-ai/stable-cascade/sote-diffusion", {
    input: { prompt: "a cat" },
    webhookUrl: "https://optional.webhook.url/for/results",
  });
  const status = await fal.queue.status("fal-ai/stable-cascade/sote-diffusion", { requestId: request_id, logs: true });
  if (status.status === "IN_QUEUE") console.log(status.queue_position);
  if (status.status === "COMPLETED") console.log(status.metrics?.inference_time, status.response_url);

  const statusStream = await fal.queue.streamStatus("fal-ai/stable-cascade/sote-diffusion", { requestId: request_id, logs: true });
  statusStream.on("data", (event) => console.log(event));
  for await (const update of statusStream) console.log(update.status);
  const final = await statusStream.done();
  console.log(final.status);

  const completed = await fal.queue.subscribeToStatus("fal-ai/stable-cascade/sote-diffusion", {
    requestId: request_id,
    logs: true,
    onQueueUpdate: (update) => console.log(update.status),
  });
  console.log(completed.logs.length);

  const queued = await fal.queue.result("fal-ai/stable-cascade/sote-diffusion", { requestId: "764cabcf-b745-4b3e-ae38-1200304cf45b" });
  console.log(queued.data.images[0].width, queued.requestId);
  await fal.queue.cancel("fal-ai/stable-cascade/sote-diffusion", { requestId: request_id });

  const stream = await fal.stream("fal-ai/stable-cascade/sote-diffusion", { input: { prompt: "a cat" } });
  stream.on("error", (error) => console.error(error));
  for await (const event of stream) console.log(event);
  const output = await stream.done();
  console.log(output.images[0].url, stream.requestId);
  stream.abort();

  const url = await fal.storage.upload(file);
  console.log(url);

  try {
    await fal.subscribe("fal-ai/stable-cascade/sote-diffusion", { input: { prompt: "" } });
  } catch (error) {
    if (error instanceof ValidationError) {
      console.log(error.fieldErrors.map((e) => `${e.loc.join(".")}: ${e.msg}`), error.getFieldErrors("prompt"));
    } else if (error instanceof ApiError) {
      console.log(error.status, error.body, error.requestId);
    }
  }

  const client = createFalClient({ credentials: () => "YOUR_FAL_KEY" });
  await client.subscribe("fal-ai/stable-cascade/sote-diffusion", { input: { prompt: "a cat" } });
  try {
    fal.realtime.connect("fal-ai/stable-cascade/sote-diffusion", { onResult: (r) => console.log(r), onError: (e) => console.error(e) });
  } catch (error) {
    console.error(error);
  }
}
