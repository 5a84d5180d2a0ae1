import { expect } from 'vitest';

/** A gateway error as tests compare it: status, fal's body, `X-Fal-Error-Type` and Hangar's code. */
export interface GatewayErrorSeen {
  status: number;
  body: unknown;
  type: string | null;
  code: string | null;
}

/** Reads a gateway error from an `inject` answer or a fetch `Response` (whose body it consumes). */
export async function gatewayError(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown } | Response,
): Promise<GatewayErrorSeen> {
  if (res instanceof Response) {
    return {
      status: res.status,
      body: await res.json(),
      type: res.headers.get('x-fal-error-type'),
      code: res.headers.get('x-hangar-error-code'),
    };
  }
  const header = (name: string) => (res.headers[name] as string | undefined) ?? null;
  return {
    status: res.statusCode,
    body: res.json(),
    type: header('x-fal-error-type'),
    code: header('x-hangar-error-code'),
  };
}

/** The gateway error expected for `code`: fal's exact body shape, with `error_type` in body and header. */
export function expectedGatewayError(status: number, errorType: string, code: string, detail?: string) {
  return {
    status,
    body: { detail: detail ?? (expect.any(String) as unknown as string), error_type: errorType },
    type: errorType,
    code,
  };
}
