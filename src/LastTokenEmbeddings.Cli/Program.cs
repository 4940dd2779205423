using LastTokenEmbeddings.Cli;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C asks the running command to stop between batches; a second one kills the process.
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};
return await LteApp.RunAsync(args, Console.Out, Console.Error, cancellation.Token).ConfigureAwait(false);
