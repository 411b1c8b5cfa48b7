// Everything the page says about a failure, in words a person understands. The server's
// codes (`reason` of a refused login, `error.code` of a 4xx, `reason` of a rejected photo)
// map to a title and an explanation; unknown codes fall back to the server's own message.

const LOGIN_REASONS = {
  no_match: (ctx) => ({
    title: "We couldn't recognise you",
    text: ctx.userId
      ? `This face doesn't match the photos enrolled for “${ctx.userId}”. Check the user name, or enroll first.`
      : "We couldn't tell who you are from your face alone. Type your user name and try again, or enroll first.",
  }),
  identification_unavailable: () => ({
    title: "Enter your user name",
    text: "Too many people are enrolled here to recognise you from your face alone. Type your user name and try again.",
  }),
  no_face: () => ({
    title: "No face was seen",
    text: "Make sure your face is well lit and inside the oval, then try again.",
  }),
  several_faces: () => ({
    title: "More than one face was in view",
    text: "Only the person logging in should be in front of the camera.",
  }),
  challenge_expired: () => ({
    title: "The check took too long",
    text: "It expired before the pictures arrived. Please start again.",
  }),
  challenge_used: () => ({
    title: "This check was already used",
    text: "Each check works only once. Please start again.",
  }),
  challenge_unknown: () => ({
    title: "This check is no longer valid",
    text: "Please start again.",
  }),
  liveness_too_few_frames: () => ({
    title: "Not enough pictures were taken",
    text: "Keep this page open and in front until the check finishes, then try again.",
  }),
  liveness_too_many_frames: () => ({
    title: "Too many pictures were sent",
    text: "Please start again.",
  }),
  liveness_face_count_in_frame: () => ({
    title: "We lost sight of your face",
    text: "In some pictures there was no face, or more than one. Keep just your face inside the oval for the whole check.",
  }),
  liveness_different_people: () => ({
    title: "The pictures show different people",
    text: "Only one person should take the check, from start to end.",
  }),
  liveness_no_motion: () => ({
    title: "Your head didn't move",
    text: "It looked like a still picture. When the arrow appears, turn your head to that side.",
  }),
  liveness_light_mismatch: () => ({
    title: "The pictures don't match this check",
    text: "Each check lights your face with its own colours. Look at the screen from arm's length while it changes colour; in a bright room, turn the screen brightness up or move away from the window. Then start again.",
  }),
  liveness_light_missing_in_turns: () => ({
    title: "The screen's light didn't reach your face as you turned",
    text: "Keep your face in front of the screen while you turn, as close as during the countdown, then start again.",
  }),
  liveness_light_too_weak: () => ({
    title: "The screen's light didn't reach your face",
    text: "Turn the screen brightness up, come a little closer, or move out of direct sunlight or a bright lamp, then start again.",
  }),
  liveness_light_on_background: () => ({
    title: "The screen's light lit the background too",
    text: "Your face should be the only thing near the screen. Move away from a wall right behind you, then start again.",
  }),
  liveness_background_too_bright: () => ({
    title: "The background is too bright",
    text: "Turn away from a window or a bright wall behind you, then start again.",
  }),
  liveness_light_added_evenly: () => ({
    title: "The screen's light didn't fall on your face as on skin",
    text: "Look at the camera yourself, not through glass or at a picture on another screen. If a window or glass is between you and the camera, move it away, then start again.",
  }),
  liveness_too_few_lit_frames: () => ({
    title: "We lost sight of your face",
    text: "Keep your face in view while the screen changes colour, then start again.",
  }),
  liveness_no_head_turn: () => ({
    title: "We didn't see your head move as asked",
    text: "When the arrow appears, move your whole head clearly that way — a quarter turn to the side, or tilt it well back or forward to look up or down — and hold it until you're asked to look back.",
  }),
  liveness_wrong_turn_order: () => ({
    title: "Your head moved the other way",
    text: "“Left” means your own left, the way the arrow points. Follow the arrows in the order shown.",
  }),
  liveness_too_slow: () => ({
    title: "The check took too long",
    text: "The pictures arrived long after the check started. Keep this page open and in front until it finishes, on a steady connection, then start again.",
  }),
  liveness_too_fast: () => ({
    title: "The pictures came too quickly",
    text: "They arrived sooner than the camera could have taken them. Start again and follow the arrows with your camera.",
  }),
  liveness_flat_face: () => ({
    title: "That looked like a picture, not a face",
    text: "Turn your own head — not the camera or a photo — about a quarter turn to each side as the arrows ask.",
  }),
  liveness_frames_seen: () => ({
    title: "These pictures were used before",
    text: "A login needs new pictures from your camera. Start again and follow the arrows.",
  }),
  liveness_no_parallax: () => ({
    title: "That moved like a picture, not a face",
    text: "Turn your own head, not a photo or the camera, and keep your whole face in view and in good light while you turn.",
  }),
  liveness_ruled_surface: () => ({
    title: "That moved like a bent picture, not a face",
    text: "Turn your own head, not a photo or the camera, and keep your whole face in view and in good light while you turn.",
  }),
};

const ERROR_CODES = {
  too_many_attempts: (ctx) => ({
    title: "Too many attempts",
    text:
      ctx.retryAfter != null
        ? `For your security, logging in is paused. Please wait ${formatWait(ctx.retryAfter)} before trying again.`
        : "For your security, logging in is paused for a few minutes.",
  }),
  bad_user_id: () => ({
    title: "That user name isn't valid",
    text: "Use 1 to 64 letters, digits and . _ - @, not starting with . or -.",
  }),
  bad_image: () => ({
    title: "A picture couldn't be read",
    text: "The image was damaged or not a photo. Please try again.",
  }),
  payload_too_large: () => ({
    title: "The pictures are too large",
    text: "Try fewer or smaller photos.",
  }),
  no_frames: () => ({ title: "No pictures were taken", text: "Please start again." }),
  too_many_frames: () => ({ title: "Too many pictures were sent", text: "Please start again." }),
  no_images: () => ({ title: "No photos to send", text: "Take or choose at least one photo." }),
  too_many_images: () => ({ title: "Too many photos", text: "Send at most 5 photos at a time." }),
  missing_token: () => ({
    title: "Not authorised",
    text: "Enter the admin token, or log in first to add photos to your own profile.",
  }),
  invalid_token: () => ({
    title: "The token was not accepted",
    text: "The admin token is wrong, or your session has expired. Check it, or log in again.",
  }),
  forbidden: () => ({
    title: "Not allowed",
    text: "A login session can only add photos to its own profile. Use the admin token to enroll someone else.",
  }),
  no_usable_photo: () => ({
    title: "None of the photos could be used",
    text: "See the reason under each photo, then take new ones.",
  }),
  challenge_required: () => ({ title: "The check is missing", text: "Please start again." }),
  bad_challenge_id: () => ({ title: "The check is no longer valid", text: "Please start again." }),
  unavailable: () => ({
    title: "The service is busy",
    text: "A storage service is unavailable right now. Please try again in a moment.",
  }),
  internal: () => ({
    title: "Something went wrong on our side",
    text: "Please try again. If it keeps happening, contact the administrator.",
  }),
};

export const PHOTO_REASONS = {
  no_face: "No face was found in this photo.",
  several_faces: "More than one face is in this photo — only the person enrolling may be in it.",
  face_too_small: "The face is too small — come closer to the camera.",
  face_too_blurred: "The photo is blurred — hold still, in good light.",
  face_turned_too_far: "The face is turned too far — look straight at the camera.",
  implausible_landmarks: "The face couldn't be measured reliably — look straight at the camera and try again.",
  bad_image: "This file isn't a photo that can be read.",
};

/** "45 seconds", "1 minute 5 seconds". */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.floor(s / 60);
  const r = s % 60;
  return `${m} minute${m === 1 ? "" : "s"}${r ? ` ${r} second${r === 1 ? "" : "s"}` : ""}`;
}

export const NETWORK = {
  title: "Can't reach the server",
  text: "Check your internet connection and try again.",
};

/** A refused login (401 body with `reason`). */
export function loginRefusal(reason, serverMessage, ctx = {}) {
  const make = LOGIN_REASONS[reason];
  if (make) return make(ctx);
  return { title: "Login failed", text: serverMessage || "Please try again." };
}

/** Any non-2xx answer in the `{error: {code, message}}` shape (or none at all). */
export function apiError(status, data, ctx = {}) {
  const code = data?.error?.code;
  const make = code && ERROR_CODES[code];
  if (make) return make(ctx);
  if (status === 429) return ERROR_CODES.too_many_attempts(ctx);
  if (status >= 500) return ERROR_CODES.internal();
  return {
    title: "The request was refused",
    text: data?.error?.message || `The server answered with status ${status}.`,
  };
}

/** getUserMedia failures. */
export function cameraError(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return {
        title: "Camera access is blocked",
        text: "Allow this page to use the camera (look for the camera icon in the address bar or your browser's site settings), then try again.",
      };
    case "NotFoundError":
    case "OverconstrainedError":
      return {
        title: "No camera was found",
        text: "Connect a camera, or use a device that has one, then try again.",
      };
    case "NotReadableError":
    case "AbortError":
      return {
        title: "The camera can't be started",
        text: "It may be in use by another app or tab. Close it there, then try again.",
      };
    case "InsecureContext":
      return {
        title: "The camera needs a secure page",
        text: "Open this page over https (or on localhost) to use the camera.",
      };
    default:
      return { title: "The camera can't be started", text: err?.message || "Please try again." };
  }
}
