// Camera access and frame capture. The preview is mirrored in CSS only (people expect a
// mirror); captured frames are the camera's own, unmirrored view, which is what the
// server's left/right convention assumes.

export const FRAME_MAX_SIDE = 640;
export const JPEG_QUALITY = 0.85;

/**
 * Opens the front camera into `video`. Resolves when the first frame is shown, with the
 * time (performance.now()) the camera started, which anchors the capture timeline.
 */
export async function openCamera(video) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    const e = new Error("insecure context");
    e.name = "InsecureContext";
    throw e;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
  });
  const startedAt = performance.now();
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  try {
    await video.play();
  } catch {
    // Autoplay refusals still leave frames available for capture once data arrives.
  }
  if (!video.videoWidth) {
    await new Promise((resolve) => {
      const done = () => resolve();
      video.addEventListener("loadeddata", done, { once: true });
      setTimeout(done, 3000);
    });
  }
  return { stream, startedAt };
}

export function stopCamera(stream, video) {
  stream?.getTracks().forEach((t) => t.stop());
  if (video) video.srcObject = null;
}

/** Draws the current video frame (unmirrored) and encodes it as JPEG; returns base64 without the data: prefix. */
export function captureJpeg(video, canvas, { maxSide = FRAME_MAX_SIDE, quality = JPEG_QUALITY } = {}) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  const scale = Math.min(1, maxSide / Math.max(w, h));
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL("image/jpeg", quality).split(",", 2)[1] ?? null;
}

/** A photo file (any format the browser reads) re-encoded as JPEG, at most `maxSide` pixels. */
export async function fileToJpeg(file, canvas, maxSide = 1600) {
  const bitmap = await createImageBitmap(file);
  try {
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.9).split(",", 2)[1] ?? null;
  } finally {
    bitmap.close?.();
  }
}
