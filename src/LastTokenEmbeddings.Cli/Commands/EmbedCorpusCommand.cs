using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using LastTokenEmbeddings.Cli.Corpus;
using LastTokenEmbeddings.Cli.Output;
using LastTokenEmbeddings.Embeddings;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary>
/// <c>lte embed-corpus</c>: embeds a whole corpus file (JSONL, CSV/TSV, Parquet) into Parquet or JSONL chunk files,
/// resumable after any stop and shardable across workers (docs/corpus.md).
/// </summary>
internal static class EmbedCorpusCommand
{
    private static readonly string[] InputFormats = ["auto", "jsonl", "csv", "tsv", "parquet"];
    private static readonly string[] OutputFormats = ["parquet", "jsonl"];
    private static readonly string[] QuotingModes = ["auto", "rfc4180", "none"];
    private static readonly string[] ShardKeys = ["id", "row"];
    private static readonly string[] BadRecordModes = ["skip", "fail"];

    public static Command Create(CliContext context)
    {
        var shared = new ModelOptionSet();
        var input = new Option<string>("--input", "-i") { Description = "The corpus: JSON lines, CSV, TSV or Parquet (a file: it is read again from the recorded position when a run resumes).", HelpName = "FILE", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output directory: numbered chunk files, _manifest*.json and _rejects*.jsonl.", HelpName = "DIR", Required = true };
        var inputFormat = Choice(new Option<string>("--input-format") { Description = "Input format; auto tells it from the extension (.jsonl/.ndjson, .csv, .tsv/.tab, .parquet).", HelpName = "FORMAT", DefaultValueFactory = _ => "auto" }, InputFormats);
        var idField = new Option<string?>("--id-field") { Description = "Field or column holding the record id (string or number). Default: id (CSV/TSV without header: column 1).", HelpName = "NAME" };
        var textField = new Option<string?>("--text-field") { Description = "Field or column holding the text. Default: text (CSV/TSV without header: column 2).", HelpName = "NAME" };
        var noHeader = new Option<bool>("--no-header") { Description = "CSV/TSV: the first row is data; columns are named 1, 2, ..." };
        var quoting = Choice(new Option<string>("--quoting") { Description = "CSV/TSV quoting: rfc4180 (quoted fields may hold delimiters, line breaks and \"\"), none (quotes are plain characters). auto: rfc4180 for CSV, none for TSV.", HelpName = "MODE", DefaultValueFactory = _ => "auto" }, QuotingModes);
        var keepFields = new Option<string>("--keep-fields") { Description = "Extra input fields to keep in the output (as one JSON object column 'fields'): none, all, or a comma-separated list.", HelpName = "FIELDS", DefaultValueFactory = _ => "none" };
        var outputFormat = Choice(new Option<string>("--output-format") { Description = "Chunk files: parquet (id, embedding as a list of float32, tokens, truncated[, fields]) or jsonl.", HelpName = "FORMAT", DefaultValueFactory = _ => "parquet" }, OutputFormats);
        var chunkRecords = Positive(new Option<int>("--chunk-records") { Description = "Records (embedded or rejected) per committed chunk (fewer when their vectors would pass 64 MiB).", HelpName = "N", DefaultValueFactory = _ => 10_000 });
        var chunkSeconds = Positive(new Option<int>("--chunk-seconds") { Description = "Commit a chunk at least this often, so a stop loses at most this much work.", HelpName = "S", DefaultValueFactory = _ => 300 });
        var shard = new Option<string?>("--shard") { Description = "Embed only shard I of N (0 <= I < N) of the records.", HelpName = "I/N" };
        var shards = new Option<int?>("--shards") { Description = $"Number of shards; this worker's index comes from {ShardSpec.JobCompletionIndexVariable} (a Kubernetes Indexed Job sets it).", HelpName = "N" };
        var shardBy = Choice(new Option<string>("--shard-by") { Description = "What assigns a record to a shard: id (xxHash64 of its UTF-8 bytes, mod N) or row (record number mod N).", HelpName = "KEY", DefaultValueFactory = _ => "id" }, ShardKeys);
        var onBadRecord = Choice(new Option<string>("--on-bad-record") { Description = "Bad records (missing id or text, invalid UTF-8, over the token limit with --no-truncate): skip writes them to the rejects file with their line/row and reason; fail stops the run.", HelpName = "MODE", DefaultValueFactory = _ => "skip" }, BadRecordModes);
        var noTruncate = new Option<bool>("--no-truncate") { Description = "Texts over the token limit are bad records instead of being truncated." };
        var restart = new Option<bool>("--restart") { Description = "Discard this shard's existing results in the output directory and start over." };
        var windowSize = Positive(new Option<int>("--window-size") { Description = "Records per embedding call (the batcher plans forward passes over all queued windows).", HelpName = "N", DefaultValueFactory = _ => EmbeddingStreamOptions.Default.WindowSize });
        var windowsInFlight = Positive(new Option<int>("--windows-in-flight") { Description = "Embedding calls queued at once (bounds memory: window size × windows).", HelpName = "N", DefaultValueFactory = _ => EmbeddingStreamOptions.Default.MaxWindowsInFlight });
        var progressInterval = Positive(new Option<int>("--progress-interval") { Description = "Seconds between progress lines on stderr when it is not a terminal.", HelpName = "S", DefaultValueFactory = _ => 10 });
        var role = CliOptions.Role(defaultRole: "document"); // a corpus is passages to be retrieved
        var pooling = CliOptions.Pooling();
        var prompt = CliOptions.Prompt();
        var noNormalize = CliOptions.NoNormalize();

        var command = new Command("embed-corpus", "Embed a corpus file (JSONL, CSV, TSV, Parquet) into Parquet or JSONL chunks; resumable, shardable (docs/corpus.md).");
        command.AddOptions(input, output, inputFormat, idField, textField, noHeader, quoting, keepFields, outputFormat, chunkRecords, chunkSeconds,
            shard, shards, shardBy, onBadRecord, noTruncate, restart, windowSize, windowsInFlight, progressInterval, role, pooling, prompt, noNormalize);
        shared.AddTo(command);

        command.SetAction(async (result, ct) =>
        {
            var promptName = result.GetValue(prompt)?.ToLowerInvariant();
            var instruction = result.GetValue(shared.Instruction);
            CliOptions.CheckInstruction(instruction, promptName is null ? [] : [promptName]);
            var poolingName = result.GetValue(pooling);
            var layer = result.GetValue(shared.Layer);
            var strategy = poolingName is null ? (layer is null ? null : CliOptions.ParsePooling("last-token-hidden", layer)) : CliOptions.ParsePooling(poolingName, layer);
            var format = promptName is null ? null : CliOptions.ParsePrompt(promptName, instruction);
            var textRole = CliOptions.ParseRole(result.GetValue(role)!);

            var inputPath = result.GetValue(input)!;
            if (inputPath == "-")
                throw new UsageException("--input must be a file: a resumed run reads it again from the recorded position.");
            inputPath = Path.GetFullPath(inputPath);
            var inputKind = CorpusReaders.DetectFormat(inputPath, result.GetValue(inputFormat)!.ToLowerInvariant());
            var header = !result.GetValue(noHeader);
            if (!header && inputKind is not ("csv" or "tsv"))
                throw new UsageException("--no-header applies only to CSV and TSV input.");
            var quotingMode = result.GetValue(quoting)!.ToLowerInvariant();
            var inputSettings = new CorpusInputSettings(inputPath, inputKind,
                result.GetValue(idField) ?? (header ? "id" : "1"),
                result.GetValue(textField) ?? (header ? "text" : "2"),
                FieldSelection.Parse(result.GetValue(keepFields)!),
                header,
                quotingMode == "auto" ? inputKind == "csv" : quotingMode == "rfc4180");
            var shardSpec = ShardSpec.Resolve(result.GetValue(shard), result.GetValue(shards),
                Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable),
                result.GetValue(shardBy)!.Equals("row", StringComparison.OrdinalIgnoreCase) ? ShardKey.Row : ShardKey.Id);
            var outputDirectory = Path.GetFullPath(result.GetValue(output)!);
            if (File.Exists(outputDirectory))
                throw new UsageException($"--output must be a directory, but '{outputDirectory}' is a file.");

            var directory = shared.ResolveModel(result, context);
            var options = shared.EmbeddingOptions(result, strategy, format, normalize: result.GetValue(noNormalize) ? false : null);
            using var model = EmbeddingModel.Load(directory, options, shared.LoadOptions(result));

            var job = new CorpusJobSettings(
                inputSettings, outputDirectory, result.GetValue(outputFormat)!.ToLowerInvariant(), shardSpec,
                result.GetValue(chunkRecords), TimeSpan.FromSeconds(result.GetValue(chunkSeconds)),
                Truncate: !result.GetValue(noTruncate),
                FailOnBadRecord: result.GetValue(onBadRecord)!.Equals("fail", StringComparison.OrdinalIgnoreCase),
                Restart: result.GetValue(restart),
                Call: new EmbeddingCallOptions { Role = textRole },
                Stream: new EmbeddingStreamOptions { WindowSize = result.GetValue(windowSize), MaxWindowsInFlight = result.GetValue(windowsInFlight) },
                Settings: new Dictionary<string, string>
                {
                    ["role"] = result.GetValue(role)!.ToLowerInvariant(),
                    ["instruction"] = instruction ?? "(default)",
                    ["specialTokens"] = result.GetValue(shared.SpecialTokens)?.ToLowerInvariant() ?? "(default)",
                });

            // SIGTERM (Kubernetes stopping a pod) stops the run like Ctrl+C: what is embedded is committed first.
            using var terminated = new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, terminated.Token);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
            {
                signal.Cancel = true;
                terminated.Cancel();
            });

            var progress = new CorpusProgress(context, TimeSpan.FromSeconds(result.GetValue(progressInterval)));
            CorpusSummary summary;
            try
            {
                summary = await new CorpusJob(job, model, progress, context).RunAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (terminated.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                context.Error.WriteLine("lte: error: terminated (SIGTERM); committed chunks are kept, rerun the same command to continue.");
                return ExitCodes.Cancelled;
            }
            Report(context, summary, shardSpec, progress, shared.IsJson(result));
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Report(CliContext context, CorpusSummary summary, ShardSpec shard, CorpusProgress progress, bool json)
    {
        var rate = progress.RecordsPerSecond;
        if (summary.WasAlreadyComplete)
            context.Note($"embed-corpus: '{summary.ManifestPath}' says this {(shard.IsSharded ? "shard" : "output")} is complete; nothing to do (--restart redoes it).");
        else
            context.Note("embed-corpus: done: " + progress.Line());
        if (summary.Rejected > 0)
            context.Note($"embed-corpus: {summary.Rejected:N0} records rejected; see '{summary.RejectsPath}'.");
        if (json)
        {
            JsonOutput.Write(context.Out, w =>
            {
                w.WriteString("output", summary.OutputDirectory);
                w.WriteString("shard", string.Create(CultureInfo.InvariantCulture, $"{shard.Index}/{shard.Count}"));
                w.WriteBoolean("complete", summary.Complete);
                w.WriteBoolean("resumed", summary.Resumed);
                w.WriteBoolean("alreadyComplete", summary.WasAlreadyComplete);
                w.WriteNumber("chunks", summary.Chunks);
                w.WriteNumber("embedded", summary.Embedded);
                w.WriteNumber("tokens", summary.Tokens);
                w.WriteNumber("rejected", summary.Rejected);
                w.WriteNumber("recordsThisRun", summary.RecordsThisRun);
                w.WriteNumber("tokensThisRun", summary.TokensThisRun);
                w.WriteNumber("seconds", Math.Round(summary.Elapsed.TotalSeconds, 3));
                w.WriteNumber("recordsPerSecond", Math.Round(rate, 1));
                w.WriteString("manifest", summary.ManifestPath);
                if (summary.RejectsPath is null)
                    w.WriteNull("rejects");
                else
                    w.WriteString("rejects", summary.RejectsPath);
            });
            return;
        }
        var console = context.CreateOutConsole();
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("output", Markup.Escape(summary.OutputDirectory));
        table.AddRow("shard", shard.IsSharded ? string.Create(CultureInfo.InvariantCulture, $"{shard.Index}/{shard.Count}") : "all records");
        table.AddRow("chunks", summary.Chunks.ToString(CultureInfo.InvariantCulture));
        table.AddRow("embedded", summary.Embedded.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("rejected", summary.Rejected.ToString("N0", CultureInfo.InvariantCulture) + (summary.RejectsPath is null ? "" : $" ({Markup.Escape(summary.RejectsPath)})"));
        table.AddRow("this run", string.Create(CultureInfo.InvariantCulture, $"{summary.RecordsThisRun:N0} records in {summary.Elapsed.TotalSeconds:F1} s ({rate:N0} records/s){(summary.Resumed ? ", resumed" : "")}"));
        console.Write(table);
    }

    private static Option<string> Choice(Option<string> option, IReadOnlyList<string> valid)
    {
        CliOptions.AddChoiceValidator(option, valid);
        return option;
    }

    private static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1)
                    result.AddError($"invalid {option.Name} value '{token.Value}'; expected a positive integer.");
            }
        });
        return option;
    }
}
