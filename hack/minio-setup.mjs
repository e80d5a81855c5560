// Creates the test bucket on a fresh MinIO and proves the server enforces conditional writes.
// Usage (from hack/minio.sh): node hack/minio-setup.mjs http://127.0.0.1:PORT BUCKET
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Exits non-zero, with one line
// saying what failed, if the bucket cannot be created or a conditional write is not enforced:
// conditional-write tests must never pass on a server that ignores the headers.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const [endpoint, bucket] = process.argv.slice(2);
if (!endpoint || !bucket) {
  console.error('usage: node hack/minio-setup.mjs http://127.0.0.1:PORT BUCKET');
  process.exit(2);
}
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 3 });
const status = (err) => err?.$metadata?.httpStatusCode;

try {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (err?.name !== 'BucketAlreadyOwnedByYou') throw err;
  }
  const key = `.probe/conditional-${process.pid}-${Date.now()}`;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first', IfNoneMatch: '*' }));
  let second;
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second', IfNoneMatch: '*' }));
    second = 200;
  } catch (err) {
    second = status(err) ?? String(err);
  }
  if (second !== 412) {
    throw new Error(
      `conditional-write probe: a second PUT with If-None-Match: * on an existing key answered ${second}, expected 412; ` +
        'this server ignores conditional writes and must not be used for these tests',
    );
  }
  let stale;
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'third', IfMatch: '"00000000000000000000000000000000"' }));
    stale = 200;
  } catch (err) {
    stale = status(err) ?? String(err);
  }
  if (stale !== 412) {
    throw new Error(`conditional-write probe: PUT with a stale If-Match answered ${stale}, expected 412`);
  }
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  console.error(`minio-setup: bucket ${bucket} ready at ${endpoint}; If-None-Match and If-Match are enforced (412)`);
} catch (err) {
  console.error(`minio-setup: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  client.destroy();
}
