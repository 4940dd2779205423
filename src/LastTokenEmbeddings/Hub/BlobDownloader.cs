using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// Downloads one blob into <c>blobs/ETAG.incomplete</c>, continuing what an earlier attempt (or process) left there
/// with <c>Range: bytes=N-</c>, retrying dropped connections with backoff, then verifies size and content hash and
/// only then renames it to <c>blobs/ETAG</c>. Callers hold the blob's lock.
/// </summary>
internal static partial class BlobDownloader
{
    private const int BufferSize = 1 << 20;
    private const long ProgressInterval = 1 << 20;

    public static async Task DownloadAsync(
        HubConnection connection, HubCache cache, string fileName, FileMetadata metadata,
        IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var options = connection.Options;
        var incompletePath = cache.IncompletePath(metadata.ETag);
        Directory.CreateDirectory(Path.GetDirectoryName(incompletePath)!);
        using var hash = ContentHash.For(metadata.ETag, metadata.Size);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var file = new FileStream(incompletePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                var offset = file.Length;
                if (offset > metadata.Size)
                    offset = Restart(file, hash);
                if (offset > 0)
                {
                    HubLog.Resuming(connection.Logger, fileName, connection.ModelId, offset, metadata.Size);
                    await hash.AppendPrefixAsync(file, offset, buffer, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    HubLog.Downloading(connection.Logger, fileName, connection.ModelId, metadata.Size, HubConnection.Display(metadata.Location));
                }
                progress?.Report(new HubDownloadProgress(connection.ModelId, fileName, offset, metadata.Size, IsComplete: false));

                var failures = 0;
                while (offset < metadata.Size)
                {
                    var before = offset;
                    try
                    {
                        offset = await FetchFromAsync(connection, fileName, metadata, file, hash, offset, buffer, progress, cancellationToken).ConfigureAwait(false);
                    }
                    catch (HubException e) when (e.IsTransient)
                    {
                        offset = file.Length; // what reached the disk (and the hash) before the failure
                        if (offset > before)
                            failures = 0; // as huggingface_hub: give up only after retries that bring no data
                        if (failures >= options.MaxRetries)
                            throw;
                        var delay = connection.RetryDelay(failures);
                        failures++;
                        HubLog.DownloadInterrupted(connection.Logger, fileName, connection.ModelId, offset, metadata.Size, e.Message, failures, options.MaxRetries, delay.TotalSeconds);
                        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    }
                }
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            var actual = hash.Finish();
            if (actual is not null && !string.Equals(actual, metadata.ETag, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(incompletePath);
                throw new HubException(HubErrorKind.ChecksumMismatch, connection.ModelId, connection.Revision,
                    connection.Redact($"'{fileName}' of {connection.ModelId} at revision '{connection.Revision}' is corrupt: its {hash.Name} is {actual}, " +
                    $"but the Hub announced {metadata.ETag}. The downloaded file was deleted; run again to download it anew."),
                    fileName);
            }
            File.Move(incompletePath, cache.BlobPath(metadata.ETag), overwrite: true);
            progress?.Report(new HubDownloadProgress(connection.ModelId, fileName, metadata.Size, metadata.Size, IsComplete: true));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One GET from <paramref name="offset"/> on; returns the new offset (the whole size unless the body ended early).</summary>
    private static async Task<long> FetchFromAsync(
        HubConnection connection, string fileName, FileMetadata metadata, FileStream file, ContentHash hash, long offset,
        byte[] buffer, IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var options = connection.Options;
        var rangeFrom = offset;
        using var response = await connection.SendAsync(
            HttpMethod.Get, metadata.Location, fileName, HubConnection.Redirects.Follow, maxRetries: 0, options.DownloadTimeout,
            rangeFrom > 0 ? request => request.Headers.Range = new RangeHeaderValue(rangeFrom, null) : null,
            HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

        if (rangeFrom > 0 && (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != rangeFrom))
        {
            // The server sent the whole file (it ignored Range) or another range: start over, as huggingface_hub does.
            offset = Restart(file, hash);
            if (response.StatusCode == HttpStatusCode.PartialContent)
                throw connection.NetworkFailure(new IOException($"asked for bytes {rangeFrom}- and got {response.Content.Headers.ContentRange}"), fileName);
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var lastReport = offset;
            while (true)
            {
                int read;
                try
                {
                    idle.CancelAfter(options.DownloadTimeout);
                    read = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                    throw connection.NetworkFailure(new TimeoutException($"no data for {options.DownloadTimeout.TotalSeconds:0.###} s", e), fileName);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                    throw connection.NetworkFailure(e, fileName);
                }
                if (read == 0)
                    break;
                if (offset + read > metadata.Size)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                    File.Delete(file.Name);
                    throw new HubException(HubErrorKind.ChecksumMismatch, connection.ModelId, connection.Revision,
                        $"'{fileName}' of {connection.ModelId} at revision '{connection.Revision}' is larger than the {metadata.Size} bytes the Hub announced. " +
                        "The downloaded file was deleted; run again to download it anew.", fileName);
                }
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                hash.Append(buffer.AsSpan(0, read));
                offset += read;
                if (progress is not null && offset - lastReport >= ProgressInterval && offset < metadata.Size)
                {
                    lastReport = offset;
                    progress.Report(new HubDownloadProgress(connection.ModelId, fileName, offset, metadata.Size, IsComplete: false));
                }
            }
        }
        if (offset < metadata.Size)
            throw connection.NetworkFailure(new IOException($"the connection closed after {offset} of {metadata.Size} bytes"), fileName);
        return offset;
    }

    private static long Restart(FileStream file, ContentHash hash)
    {
        file.SetLength(0);
        file.Position = 0;
        hash.Reset();
        return 0;
    }

    /// <summary>
    /// The hash that names a blob: sha256 of the content for LFS files (X-Linked-Etag), the git blob id
    /// (sha1 of <c>"blob SIZE\0"</c> + content) for files kept in git. Other ETags (a proxy's own) are not checked.
    /// </summary>
    private sealed partial class ContentHash : IDisposable
    {
        private readonly IncrementalHash? _hash;
        private readonly byte[] _prefix;

        private ContentHash(IncrementalHash? hash, string name, byte[] prefix)
        {
            _hash = hash;
            Name = name;
            _prefix = prefix;
            Reset();
        }

        public string Name { get; }

        public static ContentHash For(string etag, long size)
        {
            if (Sha256Pattern().IsMatch(etag))
                return new ContentHash(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), "sha256", []);
            if (GitBlobPattern().IsMatch(etag))
            {
#pragma warning disable CA5350 // not for security: git names a file's content by this hash, and the Hub announces it
                var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning restore CA5350
                return new ContentHash(sha1, "git blob hash", Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {size}\0")));
            }
            return new ContentHash(null, "none", []);
        }

        public void Reset()
        {
            if (_hash is null)
                return;
            _hash.GetHashAndReset(); // discards what was appended
            _hash.AppendData(_prefix);
        }

        public void Append(ReadOnlySpan<byte> data) => _hash?.AppendData(data);

        /// <summary>Hashes the first <paramref name="length"/> bytes already on disk (an interrupted download's).</summary>
        public async Task AppendPrefixAsync(FileStream file, long length, byte[] buffer, CancellationToken cancellationToken)
        {
            if (_hash is null)
            {
                file.Position = length;
                return;
            }
            file.Position = 0;
            var remaining = length;
            while (remaining > 0)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    throw new IOException($"{file.Name} shrank while being read");
                _hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }

        /// <summary>The hash as lower-case hex, or <see langword="null"/> when the ETag is not a content hash.</summary>
        public string? Finish() => _hash is null ? null : Convert.ToHexStringLower(_hash.GetHashAndReset());

        public void Dispose() => _hash?.Dispose();

        [GeneratedRegex("^[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant)]
        private static partial Regex Sha256Pattern();

        [GeneratedRegex("^[0-9a-fA-F]{40}$", RegexOptions.CultureInvariant)]
        private static partial Regex GitBlobPattern();
    }
}
