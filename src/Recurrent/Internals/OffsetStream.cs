using System;
using System.IO;

namespace Recurrent.Internals;

/// <summary>
/// A read-only, seekable view of a stream from <paramref name="start"/> on: position 0 of the view is the inner stream's
/// <paramref name="start"/>, so a reader that assumes a file begins at 0 (zip offsets, safetensors data offsets) reads a
/// checkpoint that sits at any position of the caller's stream.
/// </summary>
internal sealed class OffsetStream(Stream inner, long start) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => inner.Length - start;

    public override long Position
    {
        get => inner.Position - start;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            inner.Position = start + value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => Length + offset,
        };
        Position = target;
        return target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
